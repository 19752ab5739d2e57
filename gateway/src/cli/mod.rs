//! The command line: `hookgate serve` and the subcommands that talk to a gateway, plus the
//! plugin-author commands that need no server.

mod bitbucket;
mod client;
mod oncall;
mod plugin;
mod scaffold;
mod serve;
mod storage;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// hookgate: a webhook gateway with WebAssembly plugins.
#[derive(Debug, Parser)]
#[command(name = "hookgate", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway.
    Serve(serve::ServeArgs),
    /// Create and manage endpoints (talks to a running gateway).
    Endpoint {
        #[command(subcommand)]
        command: client::EndpointCommand,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// The inbound log (talks to a running gateway).
    Inbound {
        #[command(subcommand)]
        command: client::InboundCommand,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// Alerts (talks to a running gateway).
    Alerts {
        #[command(subcommand)]
        command: client::AlertsCommand,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// Connect a Bitbucket repository: endpoint and webhook in one step (talks to a running
    /// gateway).
    Bitbucket {
        #[command(subcommand)]
        command: bitbucket::BitbucketCommand,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// On-call users: who can be paged and sign in (talks to a running gateway).
    Users {
        #[command(subcommand)]
        command: oncall::DirectoryCommand<oncall::UserFields>,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// Teams of users (talks to a running gateway).
    Teams {
        #[command(subcommand)]
        command: oncall::DirectoryCommand<oncall::TeamFields>,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// On-call schedules, who is on call and their shifts (talks to a running gateway).
    Schedules {
        #[command(subcommand)]
        command: oncall::SchedulesCommand,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// Escalation policies (talks to a running gateway).
    Policies {
        #[command(subcommand)]
        command: oncall::DirectoryCommand<oncall::PolicyFields>,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// Maintenance windows, which silence pages (talks to a running gateway).
    Maintenance {
        #[command(subcommand)]
        command: oncall::DirectoryCommand<oncall::WindowFields>,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// Plugins: list a gateway's, or validate and run plugin files locally.
    Plugin {
        #[command(subcommand)]
        command: plugin::PluginCommand,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// Move an installation between a data directory and PostgreSQL (no server: stop the
    /// gateways first).
    Storage {
        #[command(subcommand)]
        command: storage::StorageCommand,
    },
    /// A consistent copy of a running gateway's redb database, while it runs (talks to a
    /// running gateway); start a gateway with the copy as `<data-dir>/hookgate.redb` to restore.
    Backup {
        /// The file to write (must not exist).
        #[arg(long)]
        to: std::path::PathBuf,
        #[command(flatten)]
        connection: client::Connection,
    },
}

/// A failure the CLI reports with its exit code: 1 when a plugin (or a test notification)
/// failed, 2 when the input (file, payload, arguments) is unusable.
#[derive(Debug)]
pub struct CliError {
    pub exit_code: u8,
    pub message: String,
}

impl CliError {
    pub fn input(message: impl Into<String>) -> Self {
        Self {
            exit_code: 2,
            message: message.into(),
        }
    }

    pub fn plugin(message: impl Into<String>) -> Self {
        Self {
            exit_code: 1,
            message: message.into(),
        }
    }

    /// Something the command tried did not work (exit code 1).
    pub fn failed(message: impl Into<String>) -> Self {
        Self::plugin(message)
    }
}

/// Parses the process's arguments and runs the command.
pub fn main() -> ExitCode {
    main_from(std::env::args_os())
}

/// Parses `args` (the program name first) and runs the command: for programs that embed the
/// gateway, such as the benchmark suite, which starts it as a child of itself.
pub fn main_from<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::parse_from(args);
    init_tracing();
    let outcome = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Endpoint {
            command,
            connection,
        } => client::endpoint(command, connection),
        Command::Inbound {
            command,
            connection,
        } => client::inbound(command, connection),
        Command::Alerts {
            command,
            connection,
        } => client::alerts(command, connection),
        Command::Bitbucket {
            command,
            connection,
        } => bitbucket::run(command, connection),
        Command::Users {
            command,
            connection,
        } => oncall::users(command, connection),
        Command::Teams {
            command,
            connection,
        } => oncall::teams(command, connection),
        Command::Schedules {
            command,
            connection,
        } => oncall::schedules(command, connection),
        Command::Policies {
            command,
            connection,
        } => oncall::policies(command, connection),
        Command::Maintenance {
            command,
            connection,
        } => oncall::maintenance(command, connection),
        Command::Storage { command } => storage::run(command),
        Command::Backup { to, connection } => client::backup(&to, connection),
        Command::Plugin {
            command,
            connection,
        } => match command {
            plugin::PluginCommand::List => client::plugin_list(connection),
            command => plugin::run(command, connection.json_output()),
        },
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", error.message);
            ExitCode::from(error.exit_code)
        }
    }
}

/// Logs to stderr; `RUST_LOG` overrides the default level, except that Handlebars never logs
/// below info: at debug it logs helper parameters, which hold console CSRF tokens and
/// webhook URLs (a more specific `RUST_LOG` directive would beat an added `handlebars=info`,
/// so the cap is a filter of its own).
fn init_tracing() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,wasmtime=warn,cranelift=warn,tokio_postgres=warn")
    });
    let handlebars_at_info = tracing_subscriber::filter::filter_fn(|metadata| {
        !metadata.target().starts_with("handlebars") || *metadata.level() <= tracing::Level::INFO
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .finish()
        .with(handlebars_at_info)
        .try_init();
}
