//! `github-embeds`: GitHub `push`, `pull_request` and `workflow_run` events as chat embeds,
//! written from the SDK's README and rustdoc alone.
//!
//! - `push`: `[owner/repo] N new commits on branch`, one line per commit (short id linked,
//!   first line of the message, author; at most 10, then "and N more"), linked to the compare
//!   view; a created or deleted branch or tag says so.
//! - `pull_request`: `[owner/repo] Pull request #N <action>: title`, the description, the
//!   branches and the author; green when opened or reopened, purple when merged, red when closed
//!   unmerged, neutral otherwise. Only the actions in `pull_request_actions` are posted.
//! - `workflow_run`: `[owner/repo] <workflow> #N <conclusion> on branch` when completed, with the
//!   commit, the run's duration and a link to the run; green on success, red on failure.
//! - Any other event: no message.
//!
//! Config keys: `pull_request_actions` (list; default `opened`, `reopened`, `closed`,
//! `ready_for_review`). Unknown keys are refused.

use hookgate_plugin_sdk::prelude::*;
use hookgate_plugin_sdk::time;

/// Commits listed in a push embed before "and N more".
const MAX_COMMITS: usize = 10;
const DEFAULT_PULL_REQUEST_ACTIONS: &[&str] = &["opened", "reopened", "closed", "ready_for_review"];

/// The GitHub formatter.
pub struct GitHubEmbeds;

impl Formatter for GitHubEmbeds {
    fn info(package: PluginInfo) -> PluginInfo {
        package.config_key(
            "pull_request_actions",
            "pull_request actions to post (default opened, reopened, closed, ready_for_review)",
        )
    }

    fn format(event: &Event, config: &Config) -> Result<Option<Message>, PluginError> {
        config.deny_unknown_keys(&["pull_request_actions"])?;
        let payload = event.json()?;
        let embed = match event.event_key.as_str() {
            "push" => push(payload)?,
            "pull_request" => {
                let actions =
                    config.list_or("pull_request_actions", DEFAULT_PULL_REQUEST_ACTIONS)?;
                let action = payload.path("action")?.as_str().unwrap_or_default();
                if !actions.iter().any(|wanted| wanted == action) {
                    return Ok(None);
                }
                pull_request(payload, action)?
            }
            "workflow_run" => match workflow_run(payload)? {
                Some(embed) => embed,
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
        Ok(Some(Message::with_embed(embed.footer("GitHub"))))
    }
}

export_formatter!(GitHubEmbeds);

fn repository(payload: &Value) -> Result<&str, PluginError> {
    payload
        .str_at("repository.full_name")
        .ok_or_else(|| PluginError::new("repository.full_name is missing"))
}

/// The author line from the payload's `sender`: login, profile link, avatar.
fn with_sender(embed: Embed, payload: &Value) -> Embed {
    match payload.str_at("sender.login") {
        Some(login) => embed.author(
            login,
            payload.str_at("sender.html_url").map(str::to_string),
            payload.str_at("sender.avatar_url").map(str::to_string),
        ),
        None => embed,
    }
}

fn push(payload: &Value) -> Result<Embed, PluginError> {
    let repository = repository(payload)?;
    let reference = payload.path("ref")?.as_str().unwrap_or_default();
    let (what, name) = match reference.strip_prefix("refs/tags/") {
        Some(tag) => ("tag", tag),
        None => (
            "branch",
            reference.strip_prefix("refs/heads/").unwrap_or(reference),
        ),
    };
    let commits = payload
        .get("commits")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let title = if payload["deleted"] == true {
        format!("[{repository}] {what} {name} deleted")
    } else if commits.is_empty() {
        format!("[{repository}] {what} {name} created")
    } else {
        let plural = if commits.len() == 1 { "" } else { "s" };
        format!(
            "[{repository}] {} new commit{plural} on {name}",
            commits.len()
        )
    };
    let mut lines: Vec<String> = commits
        .iter()
        .take(MAX_COMMITS)
        .map(|commit| {
            let short = short_hash(commit.str_at("id").unwrap_or_default());
            let subject = first_line(commit.str_at("message").unwrap_or_default());
            let author = commit.str_at("author.name").unwrap_or("unknown");
            match commit.str_at("url") {
                Some(url) => format!("[`{short}`]({url}) {subject} — {author}"),
                None => format!("`{short}` {subject} — {author}"),
            }
        })
        .collect();
    if commits.len() > MAX_COMMITS {
        lines.push(format!("and {} more", commits.len() - MAX_COMMITS));
    }
    let mut embed = Embed::new().title(title).colour(colour::BLUE);
    if !lines.is_empty() {
        embed = embed.description(lines.join("\n"));
    }
    if let Some(compare) = payload.str_at("compare") {
        embed = embed.url(compare);
    }
    if let Some(when) = payload.str_at("head_commit.timestamp") {
        embed = embed.timestamp(time::rfc3339_from_millis(time::millis_from_rfc3339(when)?));
    }
    Ok(with_sender(embed, payload))
}

fn pull_request(payload: &Value, action: &str) -> Result<Embed, PluginError> {
    let repository = repository(payload)?;
    let pull = payload.path("pull_request")?;
    let merged = pull["merged"] == true;
    let (verb, colour) = match action {
        "closed" if merged => ("merged", colour::PURPLE),
        "closed" => ("closed", colour::RED),
        "opened" | "reopened" => (action, colour::GREEN),
        other => (other, colour::NEUTRAL),
    };
    let number = display_value(pull.path("number")?);
    let title = pull.str_at("title").unwrap_or_default();
    let mut embed = Embed::new()
        .title(format!(
            "[{repository}] Pull request #{number} {verb}: {title}"
        ))
        .colour(colour)
        .field(
            "Branches",
            format!(
                "`{}` → `{}`",
                pull.str_at("head.ref").unwrap_or("?"),
                pull.str_at("base.ref").unwrap_or("?")
            ),
            true,
        );
    if let Some(url) = pull.str_at("html_url") {
        embed = embed.url(url);
    }
    if let Some(body) = pull.str_at("body").filter(|body| !body.trim().is_empty()) {
        embed = embed.description(body);
    }
    if let Some(author) = pull.str_at("user.login") {
        embed = embed.field("Author", author, true);
    }
    if let Some(when) = pull.str_at("updated_at") {
        embed = embed.timestamp(time::rfc3339_from_millis(time::millis_from_rfc3339(when)?));
    }
    Ok(with_sender(embed, payload))
}

/// Only completed runs are posted: a run is requested and started far too often to be news.
fn workflow_run(payload: &Value) -> Result<Option<Embed>, PluginError> {
    if payload.str_at("action") != Some("completed") {
        return Ok(None);
    }
    let repository = repository(payload)?;
    let run = payload.path("workflow_run")?;
    let conclusion = run.str_at("conclusion").unwrap_or("finished");
    let colour = match conclusion {
        "success" => colour::GREEN,
        "failure" | "timed_out" | "startup_failure" => colour::RED,
        _ => colour::NEUTRAL,
    };
    let workflow = workflow_name(payload);
    let branch = run.str_at("head_branch").unwrap_or("?");
    let number = run
        .lookup("run_number")
        .map(display_value)
        .unwrap_or_default();
    let mut embed = Embed::new()
        .title(format!(
            "[{repository}] {workflow} #{number} {conclusion} on {branch}"
        ))
        .colour(colour);
    if let Some(url) = run.str_at("html_url") {
        embed = embed.url(url);
    }
    if let (Some(id), Some(message)) = (run.str_at("head_sha"), run.str_at("head_commit.message")) {
        embed = embed.description(format!("`{}` {}", short_hash(id), first_line(message)));
    }
    if let (Some(started), Some(ended)) = (run.str_at("run_started_at"), run.str_at("updated_at")) {
        let took =
            time::millis_from_rfc3339(ended)?.saturating_sub(time::millis_from_rfc3339(started)?);
        embed = embed
            .field("Duration", time::duration_text(took), true)
            .timestamp(time::rfc3339_from_millis(time::millis_from_rfc3339(ended)?));
    }
    if let Some(trigger) = run.str_at("event") {
        embed = embed.field("Trigger", trigger, true);
    }
    Ok(Some(with_sender(embed, payload)))
}

/// The workflow's name: the run's, else the `workflow` object's, else its file.
fn workflow_name(payload: &Value) -> &str {
    ["workflow_run.name", "workflow.name", "workflow_run.path"]
        .iter()
        .filter_map(|path| payload.str_at(path))
        .find(|name| !name.is_empty())
        .unwrap_or("workflow")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUSH: &str = include_str!("../../github-provider/samples/push.json");
    const PR_OPENED: &str = include_str!("../../github-provider/samples/pull_request_opened.json");
    const PR_CLOSED: &str = include_str!("../../github-provider/samples/pull_request_closed.json");
    const RUN: &str = include_str!("../../github-provider/samples/workflow_run_completed.json");

    fn embed(event_key: &str, body: &str, config: &Config) -> Option<Embed> {
        GitHubEmbeds::format(&Event::new(event_key, body), config)
            .unwrap()
            .map(|message| message.embeds.into_iter().next().unwrap())
    }

    #[test]
    fn a_push_lists_its_commits_and_links_the_compare_view() {
        let embed = embed("push", PUSH, &Config::default()).unwrap();
        assert_eq!(
            embed.title.as_deref(),
            Some("[Codertocat/Hello-World] 1 new commit on master")
        );
        assert_eq!(
            embed.description.as_deref(),
            Some(
                "[`6113728`](https://github.com/Codertocat/Hello-World/commit/6113728f27ae82c7b1a177c8d03f9e96e0adf246) Initial commit — Codertocat"
            )
        );
        assert_eq!(
            embed.url.as_deref(),
            Some(
                "https://github.com/Codertocat/Hello-World/commit/6113728f27ae82c7b1a177c8d03f9e96e0adf246"
            )
        );
        assert_eq!(embed.author.unwrap().name, "Codertocat");
        assert_eq!(embed.timestamp.as_deref(), Some("2019-05-15T15:19:25Z"));
    }

    #[test]
    fn a_push_of_many_commits_stops_at_ten() {
        let mut payload: Value = serde_json::from_str(PUSH).unwrap();
        let commit = payload["commits"][0].clone();
        payload["commits"] = Value::Array(vec![commit; 13]);
        let embed = embed("push", &payload.to_string(), &Config::default()).unwrap();
        let description = embed.description.unwrap();
        assert_eq!(description.lines().count(), 11);
        assert!(description.ends_with("and 3 more"), "{description}");
    }

    #[test]
    fn pull_requests_are_coloured_by_what_happened() {
        let opened = embed("pull_request", PR_OPENED, &Config::default()).unwrap();
        assert_eq!(
            opened.title.as_deref(),
            Some(
                "[Codertocat/Hello-World] Pull request #2 opened: Update the README with new information."
            )
        );
        assert_eq!(opened.colour, Some(colour::GREEN));
        assert_eq!(opened.fields[0].value, "`changes` → `master`");
        let closed = embed("pull_request", PR_CLOSED, &Config::default()).unwrap();
        assert_eq!(closed.colour, Some(colour::RED));
        let mut merged: Value = serde_json::from_str(PR_CLOSED).unwrap();
        merged["pull_request"]["merged"] = Value::Bool(true);
        let merged = embed("pull_request", &merged.to_string(), &Config::default()).unwrap();
        assert_eq!(merged.colour, Some(colour::PURPLE));
        assert!(merged.title.unwrap().contains("#2 merged"));
    }

    #[test]
    fn pull_request_actions_select_what_is_posted_and_unknown_keys_are_refused() {
        let only_closed = Config::from_json(r#"{"pull_request_actions": ["closed"]}"#).unwrap();
        assert!(embed("pull_request", PR_OPENED, &only_closed).is_none());
        assert!(embed("pull_request", PR_CLOSED, &only_closed).is_some());
        let misspelt = Config::from_json(r#"{"pull_request_action": ["closed"]}"#).unwrap();
        let error =
            GitHubEmbeds::format(&Event::new("pull_request", PR_OPENED), &misspelt).unwrap_err();
        assert!(error.message().contains("pull_request_action"), "{error}");
    }

    #[test]
    fn a_completed_run_shows_its_conclusion_commit_and_duration() {
        let embed = embed("workflow_run", RUN, &Config::default()).unwrap();
        assert_eq!(
            embed.title.as_deref(),
            Some("[octo-org/octo-repo] test #163 success on master")
        );
        assert_eq!(embed.colour, Some(colour::GREEN));
        assert_eq!(
            embed.url.as_deref(),
            Some("https://github.com/octo-org/octo-repo/actions/runs/289782451")
        );
        assert_eq!(
            embed.description.as_deref(),
            Some("`3484a3f` build(test): check workflow run event payload")
        );
        assert_eq!(embed.fields[0].value, "0ms");
        let mut failed: Value = serde_json::from_str(RUN).unwrap();
        failed["workflow_run"]["conclusion"] = "failure".into();
        let failed = self::embed("workflow_run", &failed.to_string(), &Config::default()).unwrap();
        assert_eq!(failed.colour, Some(colour::RED));
    }

    #[test]
    fn other_events_post_nothing() {
        assert!(embed("ping", "{}", &Config::default()).is_none());
        let mut requested: Value = serde_json::from_str(RUN).unwrap();
        requested["action"] = "requested".into();
        assert!(embed("workflow_run", &requested.to_string(), &Config::default()).is_none());
    }
}
