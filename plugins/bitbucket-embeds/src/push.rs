//! `repo:push`: one embed per pushed branch or tag.

use crate::Settings;
use crate::payload::{Repository, base_embed, link, text_at};
use hookgate_plugin_sdk::prelude::*;

pub(crate) fn push_embeds(payload: &Value, settings: &Settings) -> Result<Vec<Embed>, PluginError> {
    let changes = payload
        .lookup("push.changes")
        .and_then(Value::as_array)
        .ok_or_else(|| PluginError::new("repo:push payload has no push.changes list"))?;
    let repository = Repository::from(payload);
    Ok(changes
        .iter()
        .filter_map(|change| change_embed(payload, &repository, change, settings))
        .collect())
}

/// Whether a pushed ref is a branch or a tag.
#[derive(Clone, Copy, PartialEq)]
enum RefKind {
    Branch,
    Tag,
}

impl RefKind {
    fn of(reference: &Value) -> Self {
        match reference.str_at("type") {
            Some("tag" | "annotated_tag") => Self::Tag,
            _ => Self::Branch,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Self::Branch => "branch",
            Self::Tag => "tag",
        }
    }
}

/// What one push did to one branch or tag.
#[derive(Clone, Copy, PartialEq)]
enum RefUpdate {
    Created,
    Deleted,
    /// A tag that now points at another commit.
    TagMoved,
    ForcePushed,
    /// A branch that moved without new commits (e.g. reset to an older commit).
    Moved,
    NewCommits,
}

/// One embed for one pushed ref; `None` for a change with neither an old nor a new state.
fn change_embed(
    payload: &Value,
    repository: &Repository,
    change: &Value,
    settings: &Settings,
) -> Option<Embed> {
    let old = change.get("old").filter(|state| state.is_object());
    let new = change.get("new").filter(|state| state.is_object());
    let flag = |name: &str| change.get(name) == Some(&Value::Bool(true));
    let commits: &[Value] = change
        .get("commits")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let update = match (old, new) {
        (None, None) => return None,
        (Some(_), None) => RefUpdate::Deleted,
        (None, Some(_)) => RefUpdate::Created,
        _ if flag("created") => RefUpdate::Created,
        (_, Some(new)) if RefKind::of(new) == RefKind::Tag => RefUpdate::TagMoved,
        _ if flag("forced") => RefUpdate::ForcePushed,
        _ if commits.is_empty() => RefUpdate::Moved,
        _ => RefUpdate::NewCommits,
    };

    // The ref as the push left it, or as it was before a deletion.
    let reference = new.or(old)?;
    let kind = RefKind::of(reference);
    let name = text_at(reference, "name").unwrap_or("(unnamed)");
    let head = reference.get("target").filter(|target| target.is_object());
    let compare = new.and_then(|new| compare_url(change, repository, old, new));
    let commit_list = CommitList {
        commits,
        truncated: flag("truncated"),
        max: settings.max_commits,
        more_link: compare.as_deref(),
    };
    let head_line =
        |prefix: &str| head.map(|head| format!("{prefix} {}", repository.commit_line(head)));
    let commits_or_head = |prefix: &str| {
        if commits.is_empty() {
            head_line(prefix)
        } else {
            Some(commit_list.render(repository))
        }
    };

    let repo = &repository.full_name;
    let (title, colour, description) = match update {
        RefUpdate::Created => (
            format!("[{repo}] New {} {name}", kind.noun()),
            colour::GREEN,
            match kind {
                RefKind::Branch => commits_or_head("At"),
                RefKind::Tag => head_line("At"),
            },
        ),
        RefUpdate::Deleted => (
            format!("[{repo}] {} {name} deleted", capitalised(kind.noun())),
            colour::RED,
            head_line("It was at"),
        ),
        RefUpdate::TagMoved => (
            format!("[{repo}] Tag {name} moved"),
            colour::ORANGE,
            head_line("Now at"),
        ),
        RefUpdate::ForcePushed => (
            format!("[{repo}] {name} was force-pushed"),
            colour::ORANGE,
            commits_or_head("Now at"),
        ),
        RefUpdate::Moved => (
            format!("[{repo}] {name} updated"),
            colour::BLUE,
            head_line("Now at"),
        ),
        RefUpdate::NewCommits => {
            let noun = if commits.len() == 1 && !commit_list.truncated {
                "commit"
            } else {
                "commits"
            };
            (
                format!("[{repo}] {} new {noun} on {name}", commit_list.count_text()),
                colour::BLUE,
                Some(commit_list.render(repository)),
            )
        }
    };
    // A branch update leads to its compare view, a new or moved ref to its page, a deleted
    // one to the repository.
    let url = match update {
        RefUpdate::Deleted => Some(repository.web_url.clone()),
        RefUpdate::Created | RefUpdate::TagMoved => link(reference, "html").map(str::to_string),
        RefUpdate::ForcePushed | RefUpdate::Moved | RefUpdate::NewCommits => compare
            .clone()
            .or_else(|| link(reference, "html").map(str::to_string)),
    };

    let mut embed = base_embed(payload, repository).title(title).colour(colour);
    if let Some(url) = url {
        embed = embed.url(url);
    }
    if let Some(description) = description.filter(|text| !text.is_empty()) {
        embed = embed.description(description);
    }
    // A deleted ref's last commit says nothing about when it was deleted.
    if update != RefUpdate::Deleted
        && let Some(date) = head.and_then(|head| text_at(head, "date"))
    {
        embed = embed.timestamp(date);
    }
    Some(embed)
}

/// The web page comparing the pushed range: the change's own `links.html`, else one built from
/// the repository and both hashes, else the change's `links.diff` (an API URL, still readable).
fn compare_url(
    change: &Value,
    repository: &Repository,
    old: Option<&Value>,
    new: &Value,
) -> Option<String> {
    if let Some(url) = link(change, "html") {
        return Some(url.to_string());
    }
    let old_hash = old.and_then(|old| text_at(old, "target^hash"));
    let new_hash = text_at(new, "target^hash");
    if let (Some(old_hash), Some(new_hash)) = (old_hash, new_hash) {
        // Bitbucket's compare view takes the newer commit first.
        return Some(format!(
            "{}/branches/compare/{new_hash}..{old_hash}",
            repository.web_url
        ));
    }
    link(change, "diff").map(str::to_string)
}

/// The commit list of one pushed branch.
struct CommitList<'a> {
    commits: &'a [Value],
    /// Bitbucket cut the list itself (it sends at most a few commits per change).
    truncated: bool,
    max: usize,
    more_link: Option<&'a str>,
}

impl CommitList<'_> {
    /// `3`, or `5+` when Bitbucket did not send them all.
    fn count_text(&self) -> String {
        if self.truncated {
            format!("{}+", self.commits.len())
        } else {
            self.commits.len().to_string()
        }
    }

    fn render(&self, repository: &Repository) -> String {
        let mut lines: Vec<String> = self
            .commits
            .iter()
            .take(self.max)
            .map(|commit| repository.commit_line(commit))
            .collect();
        let hidden = self.commits.len().saturating_sub(self.max);
        let more = match (hidden, self.truncated) {
            (0, false) => None,
            (0, true) => Some("and more".to_string()),
            (hidden, false) => Some(format!("and {hidden} more")),
            (hidden, true) => Some(format!("and {hidden}+ more")),
        };
        if let Some(more) = more {
            lines.push(match self.more_link {
                Some(url) => format!("[{more}]({url})"),
                None => more,
            });
        }
        lines.join("\n")
    }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::*;
    use hookgate_plugin_sdk::prelude::*;

    fn push_with(edit: impl FnOnce(&mut Value)) -> String {
        let mut payload: Value = serde_json::from_str(PUSH).unwrap();
        edit(&mut payload["push"]["changes"][0]);
        payload.to_string()
    }

    #[test]
    fn push_lists_the_real_commit_with_its_link_and_links_the_compare_view() {
        let embed = only_embed("repo:push", PUSH);
        assert_eq!(
            embed.title.as_deref(),
            Some(&*format!("[{REPO}] 1 new commit on main"))
        );
        assert_eq!(
            embed.url.as_deref(),
            Some(&*format!(
                "https://bitbucket.org/{REPO}/branches/compare/{NEW_HASH}..{OLD_HASH}"
            ))
        );
        assert_eq!(
            embed.description.as_deref(),
            Some(&*format!(
                "[`c14c1bb`](https://bitbucket.org/{REPO}/commits/{NEW_HASH}) a — Martin Herren"
            ))
        );
        assert_eq!(embed.colour, Some(colour::BLUE));
        let author = embed.author.as_ref().unwrap();
        assert_eq!(author.name, "Martin Herren");
        assert!(
            author
                .icon_url
                .as_deref()
                .unwrap()
                .starts_with("https://secure.gravatar.com/")
        );
        assert_eq!(
            embed.footer.as_deref(),
            Some(&*format!("Bitbucket • {REPO}"))
        );
        assert_eq!(
            embed.timestamp.as_deref(),
            Some("2022-09-07T20:19:25+00:00")
        );
        assert_eq!(format_with("repo:push", PUSH, json!({})).unwrap().text, "");
    }

    #[test]
    fn push_shows_at_most_max_commits_then_and_n_more() {
        let body = push_with(|change| {
            let template = change["commits"][0].clone();
            let commits: Vec<Value> = (0..14)
                .map(|index| {
                    let mut commit = template.clone();
                    let hash = format!("{index:02}{}", &NEW_HASH[2..]);
                    commit["hash"] = json!(hash);
                    commit["links"]["html"]["href"] =
                        json!(format!("https://bitbucket.org/{REPO}/commits/{hash}"));
                    commit["message"] = json!(format!("Change number {index}\n\nLong body"));
                    commit
                })
                .collect();
            change["commits"] = json!(commits);
        });
        let embed = only_embed("repo:push", &body);
        assert_eq!(
            embed.title.as_deref(),
            Some(&*format!("[{REPO}] 14 new commits on main"))
        );
        let description = embed.description.unwrap();
        let lines: Vec<&str> = description.lines().collect();
        assert_eq!(lines.len(), 11, "{description}");
        assert!(lines[0].starts_with("[`004c1bb`]("), "{}", lines[0]);
        assert!(
            lines[9].contains("Change number 9 — Martin Herren"),
            "{}",
            lines[9]
        );
        assert!(!description.contains("Long body"));
        let compare = format!("https://bitbucket.org/{REPO}/branches/compare/");
        assert!(
            lines[10].starts_with(&format!("[and 4 more]({compare}")),
            "{}",
            lines[10]
        );

        let three = format_with("repo:push", &body, json!({"max_commits": 3})).unwrap();
        let description = three.embeds[0].description.as_deref().unwrap();
        assert_eq!(description.lines().count(), 4);
        assert!(description.contains("and 11 more"));
    }

    #[test]
    fn push_without_links_builds_the_compare_url() {
        let body = push_with(|change| {
            change.as_object_mut().unwrap().remove("links");
        });
        let embed = only_embed("repo:push", &body);
        assert_eq!(
            embed.url.as_deref(),
            Some(&*format!(
                "https://bitbucket.org/{REPO}/branches/compare/{NEW_HASH}..{OLD_HASH}"
            ))
        );
    }

    #[test]
    fn branch_and_tag_creation_and_deletion_are_described() {
        let deleted = push_with(|change| change["new"] = Value::Null);
        let embed = only_embed("repo:push", &deleted);
        assert_eq!(
            embed.title.as_deref(),
            Some(&*format!("[{REPO}] Branch main deleted"))
        );
        assert_eq!(embed.colour, Some(colour::RED));
        assert!(embed.description.as_deref().unwrap().contains("`a51241a`"));
        assert_eq!(
            embed.url.as_deref(),
            Some(&*format!("https://bitbucket.org/{REPO}"))
        );

        let tag_deleted = push_with(|change| {
            change["new"] = Value::Null;
            change["old"]["type"] = json!("tag");
            change["old"]["name"] = json!("v1.0");
        });
        assert_eq!(
            only_embed("repo:push", &tag_deleted).title.as_deref(),
            Some(&*format!("[{REPO}] Tag v1.0 deleted"))
        );

        let tag_created = push_with(|change| {
            change["old"] = Value::Null;
            change["created"] = json!(true);
            change["new"]["type"] = json!("tag");
            change["new"]["name"] = json!("v1.1");
            change["new"]["links"]["html"]["href"] =
                json!(format!("https://bitbucket.org/{REPO}/commits/tag/v1.1"));
            change["commits"] = json!([]);
        });
        let embed = only_embed("repo:push", &tag_created);
        assert_eq!(
            embed.title.as_deref(),
            Some(&*format!("[{REPO}] New tag v1.1"))
        );
        assert_eq!(embed.colour, Some(colour::GREEN));
        assert!(
            embed
                .description
                .as_deref()
                .unwrap()
                .starts_with("At [`c14c1bb`](")
        );
        assert!(embed.url.as_deref().unwrap().ends_with("/commits/tag/v1.1"));

        let branch_created = push_with(|change| {
            change["old"] = Value::Null;
            change["created"] = json!(true);
            change["new"]["name"] = json!("feature/x");
        });
        let embed = only_embed("repo:push", &branch_created);
        assert_eq!(
            embed.title.as_deref(),
            Some(&*format!("[{REPO}] New branch feature/x"))
        );
        assert!(
            embed
                .description
                .as_deref()
                .unwrap()
                .contains(" a — Martin Herren")
        );

        let forced = push_with(|change| change["forced"] = json!(true));
        let embed = only_embed("repo:push", &forced);
        assert_eq!(
            embed.title.as_deref(),
            Some(&*format!("[{REPO}] main was force-pushed"))
        );
        assert_eq!(embed.colour, Some(colour::ORANGE));
    }

    #[test]
    fn one_embed_per_pushed_ref() {
        let mut payload: Value = serde_json::from_str(PUSH).unwrap();
        let mut tag = payload["push"]["changes"][0].clone();
        tag["old"] = Value::Null;
        tag["new"]["type"] = json!("tag");
        tag["new"]["name"] = json!("v2");
        payload["push"]["changes"].as_array_mut().unwrap().push(tag);
        let message = format_with("repo:push", &payload.to_string(), json!({})).unwrap();
        let titles: Vec<&str> = message
            .embeds
            .iter()
            .filter_map(|e| e.title.as_deref())
            .collect();
        assert_eq!(
            titles,
            [
                format!("[{REPO}] 1 new commit on main"),
                format!("[{REPO}] New tag v2")
            ]
        );
    }
}
