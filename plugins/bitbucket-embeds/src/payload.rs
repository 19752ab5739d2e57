//! Reading Bitbucket payloads, shared by every event family: blank-safe text and links,
//! people, the repository and its commit links, and the embed every family starts from.

use crate::{BITBUCKET_WEB, COMMIT_SUBJECT_CHARS};
use hookgate_plugin_sdk::prelude::*;

/// The string at `path`, when present and not blank.
pub(crate) fn text_at<'a>(value: &'a Value, path: &str) -> Option<&'a str> {
    value.str_at(path).filter(|text| !text.trim().is_empty())
}

/// The `href` of a Bitbucket `links.<name>` object.
pub(crate) fn link<'a>(value: &'a Value, name: &str) -> Option<&'a str> {
    text_at(value, &format!("links^{name}^href"))
}

/// A Bitbucket user or account object (`actor`, `author`, `approval.user`, ...).
pub(crate) struct Person {
    pub(crate) name: String,
    pub(crate) url: Option<String>,
    pub(crate) avatar: Option<String>,
}

impl Person {
    pub(crate) fn from(user: &Value) -> Option<Self> {
        let name = ["display_name", "nickname", "username"]
            .into_iter()
            .find_map(|key| text_at(user, key))?;
        Some(Self {
            name: name.to_string(),
            url: link(user, "html").map(str::to_string),
            avatar: link(user, "avatar").map(str::to_string),
        })
    }

    /// The same account, by uuid or account id, else by name.
    pub(crate) fn same_account(first: &Value, second: &Value) -> bool {
        ["uuid", "account_id"]
            .into_iter()
            .find_map(|key| Some(text_at(first, key)? == text_at(second, key)?))
            .unwrap_or_else(|| {
                Person::from(first).map(|person| person.name)
                    == Person::from(second).map(|person| person.name)
            })
    }
}

/// An embed with the acting user as author and the repository in the footer.
pub(crate) fn base_embed(payload: &Value, repository: &Repository) -> Embed {
    let mut embed = Embed::new().footer(format!("Bitbucket • {}", repository.full_name));
    if let Some(actor) = payload.get("actor").and_then(Person::from) {
        embed = embed.author(actor.name, actor.url, actor.avatar);
    }
    embed
}

/// The repository an event is about.
pub(crate) struct Repository {
    pub(crate) full_name: String,
    pub(crate) web_url: String,
}

impl Repository {
    pub(crate) fn from(payload: &Value) -> Self {
        let full_name = text_at(payload, "repository^full_name")
            .or_else(|| text_at(payload, "repository^name"))
            .unwrap_or("repository");
        let web_url = text_at(payload, "repository^links^html^href")
            .map(|url| url.trim_end_matches('/').to_string())
            .unwrap_or_else(|| format!("{BITBUCKET_WEB}/{full_name}"));
        Self {
            full_name: full_name.to_string(),
            web_url,
        }
    }

    pub(crate) fn commit_url(&self, commit: &Value) -> Option<String> {
        link(commit, "html").map(str::to_string).or_else(|| {
            text_at(commit, "hash").map(|hash| format!("{}/commits/{hash}", self.web_url))
        })
    }

    /// `[`abc1234`](url)`, or the bare short hash when the commit has no link.
    pub(crate) fn commit_link(&self, commit: &Value) -> Option<String> {
        let hash = short_hash(text_at(commit, "hash")?);
        Some(match self.commit_url(commit) {
            Some(url) => format!("[`{hash}`]({url})"),
            None => format!("`{hash}`"),
        })
    }

    /// `[`abc1234`](url) subject — author`: one line of a commit list.
    pub(crate) fn commit_line(&self, commit: &Value) -> String {
        let hash = self
            .commit_link(commit)
            .unwrap_or_else(|| "`unknown`".to_string());
        let subject = truncate(
            first_line(text_at(commit, "message").unwrap_or("")),
            COMMIT_SUBJECT_CHARS,
        );
        match commit_author(commit) {
            Some(author) => format!("{hash} {subject} — {author}"),
            None => format!("{hash} {subject}"),
        }
    }
}

/// A commit author's name: the linked account's, else the name part of `Name <email>` (the
/// address is left out on purpose: chat channels are wider audiences than the repository).
pub(crate) fn commit_author(commit: &Value) -> Option<String> {
    if let Some(user) = commit.lookup("author.user").and_then(Person::from) {
        return Some(user.name);
    }
    let raw = text_at(commit, "author^raw")?;
    let name = raw.split('<').next().unwrap_or(raw).trim();
    (!name.is_empty()).then(|| name.to_string())
}
