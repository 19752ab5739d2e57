//! `github-actions`: GitHub `workflow_run` and `check_suite` conclusions to alerts. A completed
//! run or suite whose conclusion is in `open` opens an alert (a repeat is appended to it by the
//! gateway), one in `close` closes it, anything else — runs that are only requested or in
//! progress, and every other event — is ignored with the reason.
//!
//! The dedup key is one per workflow (or checking app) and branch:
//! `owner/repo:<workflow path>:<branch>` for runs, `owner/repo:<app slug>:<branch>` for check
//! suites, so a green run of the same workflow on the same branch closes the alert a red one
//! opened.
//!
//! Config keys: `open` (default `failure`, `timed_out`, `startup_failure`), `close` (default
//! `success`). Unknown keys are refused.

use hookgate_plugin_sdk::prelude::*;

const DEFAULT_OPEN: &[&str] = &["failure", "timed_out", "startup_failure"];
const DEFAULT_CLOSE: &[&str] = &["success"];

/// The GitHub Actions alert mapper.
pub struct GitHubActions;

impl AlertMapper for GitHubActions {
    fn info(package: PluginInfo) -> PluginInfo {
        package
            .config_key(
                "open",
                "conclusions that open an alert (default failure, timed_out, startup_failure)",
            )
            .config_key("close", "conclusions that close it (default success)")
    }

    fn map(event: &Event, config: &Config) -> Result<Vec<Action>, PluginError> {
        config.deny_unknown_keys(&["open", "close"])?;
        let payload = event.json()?;
        let source = match Completed::from(&event.event_key, payload)? {
            Ok(source) => source,
            Err(unfinished) => return Ok(vec![Action::ignore(unfinished)]),
        };
        let conclusion = source.conclusion;
        if config
            .list_or("open", DEFAULT_OPEN)?
            .iter()
            .any(|c| c == conclusion)
        {
            Ok(vec![Action::open(source.alert(payload))])
        } else if config
            .list_or("close", DEFAULT_CLOSE)?
            .iter()
            .any(|c| c == conclusion)
        {
            Ok(vec![Action::close(source.key)])
        } else {
            Ok(vec![Action::ignore(format!("conclusion {conclusion}"))])
        }
    }
}

export_alert_mapper!(GitHubActions);

/// A completed workflow run or check suite, reduced to what an alert needs.
struct Completed<'a> {
    key: String,
    conclusion: &'a str,
    /// What failed, e.g. `Workflow test #163` or `Checks by octocoders-linter`.
    what: String,
    branch: &'a str,
    object: &'a Value,
}

impl<'a> Completed<'a> {
    /// The completed run or suite, or (inner `Err`) why it is not one yet.
    fn from(event_key: &str, payload: &'a Value) -> Result<Result<Self, String>, PluginError> {
        let (object_path, group, what) = match event_key {
            "workflow_run" => {
                let run = payload.path("workflow_run")?;
                let name = ["workflow_run.name", "workflow.name", "workflow_run.path"]
                    .iter()
                    .filter_map(|path| payload.str_at(path))
                    .find(|name| !name.is_empty())
                    .unwrap_or("workflow");
                let number = run
                    .lookup("run_number")
                    .map(display_value)
                    .unwrap_or_default();
                let group = run
                    .lookup("path")
                    .or(run.lookup("workflow_id"))
                    .map(display_value);
                ("workflow_run", group, format!("Workflow {name} #{number}"))
            }
            "check_suite" => {
                let suite = payload.path("check_suite")?;
                let app = suite
                    .str_at("app.slug")
                    .or(suite.str_at("app.name"))
                    .unwrap_or("checks");
                (
                    "check_suite",
                    Some(app.to_string()),
                    format!("Checks by {app}"),
                )
            }
            other => {
                return Ok(Err(format!("{other} is not a workflow_run or check_suite")));
            }
        };
        let object = payload.path(object_path)?;
        let status = object.str_at("status").unwrap_or("without a status");
        let conclusion = match object.str_at("conclusion") {
            Some(conclusion) if status == "completed" => conclusion,
            _ => return Ok(Err(format!("{event_key} is {status}, not completed"))),
        };
        let repository = payload
            .str_at("repository.full_name")
            .ok_or_else(|| PluginError::new("repository.full_name is missing"))?;
        let branch = object
            .str_at("head_branch")
            .or(object.str_at("head_sha"))
            .unwrap_or("?");
        Ok(Ok(Self {
            key: format!("{repository}:{}:{branch}", group.unwrap_or_default()),
            conclusion,
            what,
            branch,
            object,
        }))
    }

    fn alert(&self, payload: &Value) -> Alert {
        let repository = payload.str_at("repository.full_name").unwrap_or_default();
        let mut alert = Alert::new(
            self.key.clone(),
            format!(
                "{} {} on {} — {repository}",
                self.what,
                self.conclusion.replace('_', " "),
                self.branch
            ),
        )
        .source_status(self.conclusion)
        .label("branch", self.branch);
        if let Some(url) = self
            .object
            .str_at("html_url")
            .or(payload.str_at("repository.html_url"))
        {
            alert = alert.url(url);
        }
        if let Some(sha) = self.object.str_at("head_sha") {
            let message = self
                .object
                .str_at("head_commit.message")
                .map(str::to_string);
            alert = alert.commit(sha, message);
        }
        let actor = ["actor.login", "triggering_actor.login"]
            .iter()
            .find_map(|path| self.object.str_at(path))
            .or(payload.str_at("sender.login"));
        if let Some(actor) = actor {
            alert = alert.actor(actor);
        }
        alert
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUN: &str = include_str!("../../github-provider/samples/workflow_run_completed.json");
    const SUITE: &str = include_str!("../../github-provider/samples/check_suite_completed.json");

    fn with(body: &str, object: &str, field: &str, value: &str) -> String {
        let mut payload: Value = serde_json::from_str(body).unwrap();
        payload[object][field] = value.into();
        payload.to_string()
    }

    fn map(event_key: &str, body: &str) -> Vec<Action> {
        GitHubActions::map(&Event::new(event_key, body), &Config::default()).unwrap()
    }

    #[test]
    fn a_failed_run_opens_and_a_green_run_of_the_same_workflow_closes() {
        let failed = map(
            "workflow_run",
            &with(RUN, "workflow_run", "conclusion", "failure"),
        );
        let [Action::Open(alert)] = &failed[..] else {
            panic!("{failed:?}")
        };
        assert_eq!(
            alert.key,
            "octo-org/octo-repo:.github/workflows/test.yml:master"
        );
        assert_eq!(
            alert.title,
            "Workflow test #163 failure on master — octo-org/octo-repo"
        );
        assert_eq!(alert.source_status, "failure");
        assert_eq!(
            alert.url.as_deref(),
            Some("https://github.com/octo-org/octo-repo/actions/runs/289782451")
        );
        assert_eq!(
            alert.commit_hash.as_deref(),
            Some("3484a3fb816e0859fd6e1cea078d76385ff50625")
        );
        assert_eq!(
            map("workflow_run", RUN),
            vec![Action::close(alert.key.clone())]
        );
    }

    #[test]
    fn other_events_are_ignored_so_one_endpoint_can_take_all_events() {
        assert_eq!(
            map("push", "{}"),
            vec![Action::ignore("push is not a workflow_run or check_suite")]
        );
    }

    #[test]
    fn check_suites_map_the_same_way() {
        let failed = map(
            "check_suite",
            &with(SUITE, "check_suite", "conclusion", "timed_out"),
        );
        let [Action::Open(alert)] = &failed[..] else {
            panic!("{failed:?}")
        };
        assert_eq!(
            alert.key,
            "Codertocat/Hello-World:octocoders-linter:changes"
        );
        assert_eq!(
            map("check_suite", SUITE),
            vec![Action::close(alert.key.clone())]
        );
    }

    #[test]
    fn unfinished_runs_and_other_conclusions_are_ignored_with_the_reason() {
        let running = with(RUN, "workflow_run", "status", "in_progress");
        assert_eq!(
            map("workflow_run", &running),
            vec![Action::ignore("workflow_run is in_progress, not completed")]
        );
        let cancelled = with(RUN, "workflow_run", "conclusion", "cancelled");
        assert_eq!(
            map("workflow_run", &cancelled),
            vec![Action::ignore("conclusion cancelled")]
        );
    }

    #[test]
    fn config_chooses_the_conclusions_and_refuses_unknown_keys() {
        let config = Config::from_json(r#"{"open": ["cancelled"]}"#).unwrap();
        let cancelled = with(RUN, "workflow_run", "conclusion", "cancelled");
        let actions = GitHubActions::map(&Event::new("workflow_run", cancelled), &config).unwrap();
        assert!(matches!(&actions[..], [Action::Open(_)]));
        let misspelt = Config::from_json(r#"{"opens": ["cancelled"]}"#).unwrap();
        let error = GitHubActions::map(&Event::new("workflow_run", RUN), &misspelt).unwrap_err();
        assert_eq!(
            error.message(),
            "unknown config key `opens`; this plugin reads: open, close"
        );
    }
}
