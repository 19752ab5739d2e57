//! `repo:commit_status_*`: an embed per build status, posted only when the endpoint asks
//! (the `bitbucket-pipelines` alert mapper already reports failures).

use crate::DESCRIPTION_CHARS;
use crate::payload::{Repository, base_embed, text_at};
use hookgate_plugin_sdk::prelude::*;

pub(crate) fn commit_status_embed(payload: &Value) -> Result<Embed, PluginError> {
    let status = payload
        .get("commit_status")
        .filter(|value| value.is_object())
        .ok_or_else(|| PluginError::new("commit status payload has no commit_status"))?;
    let repository = Repository::from(payload);
    let name = text_at(status, "name").unwrap_or("Build");
    let (outcome, colour) = match text_at(status, "state") {
        Some("SUCCESSFUL") => ("passed".to_string(), colour::GREEN),
        Some("FAILED") => ("failed".to_string(), colour::RED),
        Some("INPROGRESS") => ("in progress".to_string(), colour::BLUE),
        Some("STOPPED") => ("stopped".to_string(), colour::ORANGE),
        Some(other) => (other.to_lowercase(), colour::NEUTRAL),
        None => ("reported".to_string(), colour::NEUTRAL),
    };
    let mut embed = base_embed(payload, &repository)
        .title(format!("[{}] {name}: {outcome}", repository.full_name))
        .colour(colour);
    if let Some(url) = text_at(status, "url") {
        embed = embed.url(url);
    }
    if let Some(description) = text_at(status, "description") {
        embed = embed.description(truncate(description.trim(), DESCRIPTION_CHARS));
    }
    if let Some(branch) = text_at(status, "refname") {
        embed = embed.field("Branch", format!("`{branch}`"), true);
    }
    if let Some(commit) = status.get("commit").filter(|commit| commit.is_object()) {
        embed = embed.field("Commit", repository.commit_line(commit), false);
    }
    if let Some(timestamp) = text_at(status, "updated_on").or_else(|| text_at(status, "created_on"))
    {
        embed = embed.timestamp(timestamp);
    }
    Ok(embed)
}

#[cfg(test)]
mod tests {
    use crate::test_support::*;
    use hookgate_plugin_sdk::prelude::*;

    #[test]
    fn commit_statuses_are_posted_only_when_asked() {
        assert_eq!(
            format_with("repo:commit_status_updated", STATUS_UPDATED, json!({})),
            None
        );
        let mut payload: Value = serde_json::from_str(STATUS_UPDATED).unwrap();
        payload["commit_status"]["state"] = json!("FAILED");
        let message = format_with(
            "repo:commit_status_updated",
            &payload.to_string(),
            json!({"commit_statuses": true}),
        )
        .unwrap();
        let embed = &message.embeds[0];
        assert_eq!(
            embed.title.as_deref(),
            Some("[automationtestharness/testrepo] Pipeline #4 for main: failed")
        );
        assert_eq!(embed.colour, Some(colour::RED));
        assert!(
            embed
                .url
                .as_deref()
                .unwrap()
                .contains("/addon/pipelines/home#!/results/4")
        );
        assert!(field(embed, "Commit").unwrap().contains("[`bdf6fac`]("));
    }
}
