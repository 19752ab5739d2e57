//! `hookgate bitbucket connect|disconnect`: register an endpoint's webhook in a Bitbucket Cloud
//! repository through a running gateway (`POST /api/v1/bitbucket/connect`), or remove it.
//!
//! `--token` stays the gateway's admin token, as in every command that talks to a gateway; the
//! Bitbucket credential is `--bitbucket-token` or, better (it stays out of the process list),
//! the `BITBUCKET_TOKEN` variable: a repository, project or workspace access token with the
//! `webhook` scope, or `user:app_password`.

use super::CliError;
use super::client::{Api, Connection, PipelineArgs, events_value, print_endpoint};
use clap::Subcommand;
use serde_json::json;

#[derive(Debug, Subcommand)]
pub enum BitbucketCommand {
    /// Create an endpoint and register it as a webhook of a Bitbucket repository.
    Connect {
        /// Workspace slug.
        #[arg(long)]
        workspace: String,
        /// Repository slug.
        #[arg(long)]
        repo: String,
        /// Bitbucket access token (webhook scope), or `user:app_password`.
        #[arg(long, env = "BITBUCKET_TOKEN", hide_env_values = true)]
        bitbucket_token: String,
        /// `push`, `all`, or event keys separated by commas.
        #[arg(long, default_value = "all")]
        events: String,
        /// Name for people [default: workspace/repo].
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        pipeline: PipelineArgs,
    },
    /// Delete a connected endpoint's webhook in Bitbucket and disable the endpoint.
    Disconnect {
        /// The endpoint.
        endpoint_id: String,
        /// Bitbucket access token (webhook scope), or `user:app_password`.
        #[arg(long, env = "BITBUCKET_TOKEN", hide_env_values = true)]
        bitbucket_token: String,
    },
}

pub fn run(command: BitbucketCommand, connection: Connection) -> Result<(), CliError> {
    let api = Api::connect(connection)?;
    match command {
        BitbucketCommand::Connect {
            workspace,
            repo,
            bitbucket_token,
            events,
            name,
            pipeline,
        } => {
            let mut body = json!({
                "workspace": workspace,
                "repo": repo,
                "token": bitbucket_token,
                "events": events_value(&events),
            });
            if let Some(name) = name {
                body["name"] = json!(name);
            }
            pipeline.apply(&mut body)?;
            let answer = api.call("POST", "/bitbucket/connect", Some(body))?;
            api.print(&answer, |endpoint| {
                print_endpoint(endpoint);
                println!("Bitbucket now posts these events to the URL, signed with the secret.");
            });
        }
        BitbucketCommand::Disconnect {
            endpoint_id,
            bitbucket_token,
        } => {
            let answer = api.call(
                "POST",
                &format!("/endpoints/{endpoint_id}/bitbucket/disconnect"),
                Some(json!({"token": bitbucket_token})),
            )?;
            api.print(&answer, |_| {
                println!("deleted the Bitbucket webhook and disabled {endpoint_id}");
            });
        }
    }
    Ok(())
}
