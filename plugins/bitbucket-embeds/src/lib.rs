//! `bitbucket-embeds`: the formatter that turns Bitbucket Cloud webhooks into chat messages of
//! Discord-style embeds (the `notifier` plugin reshapes them for Slack or a JSON webhook).
//!
//! What it posts:
//! - `repo:push`: one embed per pushed ref. A branch update lists its commits (first line of
//!   the message, author, linked short hash; newest first, as Bitbucket sends them; at most
//!   `max_commits`, then "and N more") and links to the compare view. New branches and tags,
//!   deleted branches and tags, and force pushes are each described as such.
//! - `pullrequest:*`: title, description, state, author, reviewers and participants (approvals
//!   marked ✅), source → destination branch and a link; coloured by action (created green,
//!   fulfilled purple, rejected red, others neutral). Approvals, withdrawn approvals, updates
//!   and comments are titled by what happened and who did it; a comment shows its text.
//! - `issue:*`: title, state, kind, priority, the issue text (created), the changes (updated)
//!   or the comment (comment_created), and a link.
//! - `repo:commit_status_*`: nothing by default, because the `bitbucket-pipelines` alert mapper
//!   already reports failures and every build would otherwise post twice; set `commit_statuses`
//!   to post an embed per status, coloured by state.
//! - Any other event: nothing (`None`).
//!
//! The acting user is the embed's author, the payload's own time its timestamp, and the footer
//! reads `Bitbucket • <workspace>/<repository>`. Links are markdown (`[text](url)`).
//!
//! | config key | default | meaning |
//! |---|---|---|
//! | `max_commits` | `10` | commits listed per pushed branch before "and N more" |
//! | `include_description` | `true` | show pull-request and issue descriptions (cut to 1000 characters) |
//! | `commit_statuses` | `false` | also post `repo:commit_status_*` events |

use hookgate_plugin_sdk::prelude::*;

const DEFAULT_MAX_COMMITS: u64 = 10;
/// Pull-request and issue descriptions are a preview; the link leads to the rest.
const DESCRIPTION_CHARS: usize = 1000;
/// Comments are the point of a comment event, so they get more room.
const COMMENT_CHARS: usize = 2000;
/// The first line of a commit message is a subject; long ones are cut to keep the list legible.
const COMMIT_SUBJECT_CHARS: usize = 100;
/// As `git log --oneline` shows hashes.
const SHORT_HASH_CHARS: usize = 7;
const BITBUCKET_WEB: &str = "https://bitbucket.org";

/// The formatter.
pub struct Embeds;

impl Formatter for Embeds {
    fn info(package: PluginInfo) -> PluginInfo {
        package
            .config_key(
                "max_commits",
                "commits listed per pushed branch before \"and N more\" (default 10)",
            )
            .config_key(
                "include_description",
                "show pull-request and issue descriptions (default true)",
            )
            .config_key(
                "commit_statuses",
                "also post repo:commit_status_* events (default false: alerts cover them)",
            )
    }

    fn format(event: &Event, config: &Config) -> Result<Option<Message>, PluginError> {
        let settings = Settings::from_config(config)?;
        let payload = event.json()?;
        let embeds = match event.event_key.split_once(':') {
            Some(("repo", "push")) => push_embeds(payload, &settings)?,
            Some(("pullrequest", action)) => vec![pull_request_embed(payload, action, &settings)?],
            Some(("issue", action)) => vec![issue_embed(payload, action, &settings)?],
            Some(("repo", "commit_status_created" | "commit_status_updated"))
                if settings.commit_statuses =>
            {
                vec![commit_status_embed(payload)?]
            }
            _ => Vec::new(),
        };
        if embeds.is_empty() {
            return Ok(None);
        }
        Ok(Some(Message {
            text: String::new(),
            embeds,
        }))
    }
}

export_formatter!(Embeds);

/// The endpoint's `format.config`, read once per event.
struct Settings {
    max_commits: usize,
    include_description: bool,
    commit_statuses: bool,
}

impl Settings {
    fn from_config(config: &Config) -> Result<Self, PluginError> {
        let max_commits = config
            .get_u64("max_commits")?
            .unwrap_or(DEFAULT_MAX_COMMITS);
        Ok(Self {
            max_commits: usize::try_from(max_commits).unwrap_or(usize::MAX),
            include_description: config.bool_or("include_description", true)?,
            commit_statuses: config.bool_or("commit_statuses", false)?,
        })
    }
}

// ---- payload reading ---------------------------------------------------------------------

/// The string at `path`, when present and not blank.
fn text_at<'a>(value: &'a Value, path: &str) -> Option<&'a str> {
    value.str_at(path).filter(|text| !text.trim().is_empty())
}

/// The `href` of a Bitbucket `links.<name>` object.
fn link<'a>(value: &'a Value, name: &str) -> Option<&'a str> {
    text_at(value, &format!("links^{name}^href"))
}

fn first_line(text: &str) -> &str {
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("")
}

fn short_hash(hash: &str) -> &str {
    hash.get(..SHORT_HASH_CHARS).unwrap_or(hash)
}

/// A Bitbucket user or account object (`actor`, `author`, `approval.user`, ...).
struct Person {
    name: String,
    url: Option<String>,
    avatar: Option<String>,
}

impl Person {
    fn from(user: &Value) -> Option<Self> {
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
    fn same_account(first: &Value, second: &Value) -> bool {
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
fn base_embed(payload: &Value, repository: &Repository) -> Embed {
    let mut embed = Embed::new().footer(format!("Bitbucket • {}", repository.full_name));
    if let Some(actor) = payload.get("actor").and_then(Person::from) {
        embed = embed.author(actor.name, actor.url, actor.avatar);
    }
    embed
}

/// The repository an event is about.
struct Repository {
    full_name: String,
    web_url: String,
}

impl Repository {
    fn from(payload: &Value) -> Self {
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

    fn commit_url(&self, commit: &Value) -> Option<String> {
        link(commit, "html").map(str::to_string).or_else(|| {
            text_at(commit, "hash").map(|hash| format!("{}/commits/{hash}", self.web_url))
        })
    }

    /// `[`abc1234`](url)`, or the bare short hash when the commit has no link.
    fn commit_link(&self, commit: &Value) -> Option<String> {
        let hash = short_hash(text_at(commit, "hash")?);
        Some(match self.commit_url(commit) {
            Some(url) => format!("[`{hash}`]({url})"),
            None => format!("`{hash}`"),
        })
    }

    /// `[`abc1234`](url) subject — author`: one line of a commit list.
    fn commit_line(&self, commit: &Value) -> String {
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
fn commit_author(commit: &Value) -> Option<String> {
    if let Some(user) = commit.lookup("author.user").and_then(Person::from) {
        return Some(user.name);
    }
    let raw = text_at(commit, "author^raw")?;
    let name = raw.split('<').next().unwrap_or(raw).trim();
    (!name.is_empty()).then(|| name.to_string())
}

// ---- repo:push ---------------------------------------------------------------------------

fn push_embeds(payload: &Value, settings: &Settings) -> Result<Vec<Embed>, PluginError> {
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

// ---- pullrequest:* -----------------------------------------------------------------------

fn pull_request_embed(
    payload: &Value,
    action: &str,
    settings: &Settings,
) -> Result<Embed, PluginError> {
    let pull_request = payload
        .get("pullrequest")
        .filter(|value| value.is_object())
        .ok_or_else(|| {
            PluginError::new(format!("pullrequest:{action} payload has no pullrequest"))
        })?;
    let repository = Repository::from(payload);
    let number = pull_request
        .get("id")
        .map(display_value)
        .filter(|id| !id.is_empty())
        .map_or_else(String::new, |id| format!("#{id} "));
    let title = text_at(pull_request, "title").unwrap_or("(untitled)");
    let actor = payload
        .get("actor")
        .and_then(Person::from)
        .map(|actor| actor.name);
    let comment = payload.get("comment").filter(|value| value.is_object());
    let approver = payload
        .lookup("approval.user")
        .and_then(Person::from)
        .map(|user| user.name)
        .or_else(|| actor.clone())
        .unwrap_or_else(|| "someone".to_string());
    let commenter = comment
        .and_then(|comment| comment.get("user"))
        .and_then(Person::from)
        .map(|user| user.name)
        .or_else(|| actor.clone())
        .unwrap_or_else(|| "someone".to_string());

    let heading = match action {
        "created" => format!("Pull request opened: {number}{title}"),
        "updated" => format!("Pull request updated: {number}{title}"),
        "approved" => format!("Pull request {number}approved by {approver}: {title}"),
        "unapproved" => format!("Pull request {number}approval withdrawn by {approver}: {title}"),
        "fulfilled" => format!("Pull request merged: {number}{title}"),
        "rejected" => format!("Pull request declined: {number}{title}"),
        "comment_created" => format!("New comment by {commenter} on pull request {number}{title}"),
        other => format!("Pull request {number}{}: {title}", other.replace('_', " ")),
    };
    let colour = match action {
        "created" => colour::GREEN,
        "fulfilled" => colour::PURPLE,
        "rejected" => colour::RED,
        _ => colour::NEUTRAL,
    };

    let mut embed = base_embed(payload, &repository)
        .title(format!("[{}] {heading}", repository.full_name))
        .colour(colour);
    let url = comment
        .filter(|_| action == "comment_created")
        .and_then(|comment| link(comment, "html"))
        .or_else(|| link(pull_request, "html"));
    if let Some(url) = url {
        embed = embed.url(url);
    }

    let description = if action == "comment_created" {
        comment
            .and_then(|comment| text_at(comment, "content^raw"))
            .map(|text| truncate(text.trim(), COMMENT_CHARS))
    } else if settings.include_description {
        text_at(pull_request, "description").map(|text| truncate(text.trim(), DESCRIPTION_CHARS))
    } else {
        None
    };
    if let Some(description) = description {
        embed = embed.description(description);
    }

    embed = embed
        .field("State", pull_request_state(pull_request), true)
        .field("Branches", branches(pull_request), true);
    if let Some(author) = pull_request.get("author").and_then(Person::from) {
        embed = embed.field("Author", author.name, true);
    }
    let (reviewers, participants) = people(pull_request);
    if !reviewers.is_empty() {
        embed = embed.field("Reviewers", reviewers.join(", "), false);
    }
    if !participants.is_empty() {
        embed = embed.field("Participants", participants.join(", "), false);
    }
    if action == "comment_created"
        && let Some(path) = comment.and_then(|comment| text_at(comment, "inline^path"))
    {
        let line = comment
            .and_then(|comment| {
                comment
                    .lookup("inline.to")
                    .or(comment.lookup("inline.from"))
            })
            .filter(|line| line.is_number())
            .map(display_value);
        let place = match line {
            Some(line) => format!("`{path}` line {line}"),
            None => format!("`{path}`"),
        };
        embed = embed.field("On", place, false);
    }
    if action == "fulfilled"
        && let Some(merge_commit) = pull_request.get("merge_commit").filter(|c| c.is_object())
        && let Some(commit) = repository.commit_link(merge_commit)
    {
        embed = embed.field("Merge commit", commit, true);
    }
    if action == "rejected"
        && let Some(reason) = text_at(pull_request, "reason")
    {
        embed = embed.field("Reason", truncate(reason.trim(), DESCRIPTION_CHARS), false);
    }

    let timestamp = match action {
        "approved" | "unapproved" => text_at(payload, "approval^date"),
        "comment_created" => comment.and_then(|comment| {
            text_at(comment, "created_on").or_else(|| text_at(comment, "updated_on"))
        }),
        "created" => text_at(pull_request, "created_on"),
        _ => None,
    }
    .or_else(|| text_at(pull_request, "updated_on"));
    if let Some(timestamp) = timestamp {
        embed = embed.timestamp(timestamp);
    }
    Ok(embed)
}

/// `Open`, `Open (draft)`, `Merged`, `Declined`, `Superseded`.
fn pull_request_state(pull_request: &Value) -> String {
    let state = match text_at(pull_request, "state") {
        Some("OPEN") => "Open".to_string(),
        Some("MERGED") => "Merged".to_string(),
        Some("DECLINED") => "Declined".to_string(),
        Some("SUPERSEDED") => "Superseded".to_string(),
        Some(other) => other.to_string(),
        None => "Unknown".to_string(),
    };
    if pull_request.get("draft") == Some(&Value::Bool(true)) {
        format!("{state} (draft)")
    } else {
        state
    }
}

/// `` `feature` → `main` ``, with the source repository named when it is a fork.
fn branches(pull_request: &Value) -> String {
    let branch = |side: &str| {
        text_at(pull_request, &format!("{side}^branch^name"))
            .unwrap_or("?")
            .to_string()
    };
    let source_repository = text_at(pull_request, "source^repository^full_name");
    let destination_repository = text_at(pull_request, "destination^repository^full_name");
    let source = match (source_repository, destination_repository) {
        (Some(source), Some(destination)) if source != destination => {
            format!("{source}:{}", branch("source"))
        }
        _ => branch("source"),
    };
    format!("`{source}` → `{}`", branch("destination"))
}

/// Reviewers, then the other participants, each with their review state: `Ada ✅` for an
/// approval, `Ada (changes requested)`.
fn people(pull_request: &Value) -> (Vec<String>, Vec<String>) {
    let participants: &[Value] = pull_request
        .get("participants")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let reviewers: &[Value] = pull_request
        .get("reviewers")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let marked = |user: &Value, participant: Option<&Value>| {
        let name = Person::from(user)?.name;
        let approved = participant.and_then(|p| p.get("approved")) == Some(&Value::Bool(true));
        let changes_requested =
            participant.and_then(|p| p.str_at("state")) == Some("changes_requested");
        Some(if approved {
            format!("{name} ✅")
        } else if changes_requested {
            format!("{name} (changes requested)")
        } else {
            name
        })
    };
    let participant_of = |user: &Value| {
        participants.iter().find(|participant| {
            participant
                .get("user")
                .is_some_and(|other| Person::same_account(user, other))
        })
    };
    let reviewer_names = reviewers
        .iter()
        .filter_map(|reviewer| marked(reviewer, participant_of(reviewer)))
        .collect();
    let other_names = participants
        .iter()
        .filter(|participant| {
            let Some(user) = participant.get("user") else {
                return false;
            };
            participant.str_at("role") != Some("REVIEWER")
                && !reviewers
                    .iter()
                    .any(|reviewer| Person::same_account(reviewer, user))
        })
        .filter_map(|participant| marked(participant.get("user")?, Some(participant)))
        .collect();
    (reviewer_names, other_names)
}

// ---- issue:* -----------------------------------------------------------------------------

fn issue_embed(payload: &Value, action: &str, settings: &Settings) -> Result<Embed, PluginError> {
    let issue = payload
        .get("issue")
        .filter(|value| value.is_object())
        .ok_or_else(|| PluginError::new(format!("issue:{action} payload has no issue")))?;
    let repository = Repository::from(payload);
    let number = issue
        .get("id")
        .map(display_value)
        .filter(|id| !id.is_empty())
        .map_or_else(String::new, |id| format!("#{id} "));
    let title = text_at(issue, "title").unwrap_or("(untitled)");
    let comment = payload.get("comment").filter(|value| value.is_object());
    let commenter = comment
        .and_then(|comment| comment.get("user"))
        .or_else(|| payload.get("actor"))
        .and_then(Person::from)
        .map_or_else(|| "someone".to_string(), |person| person.name);

    let heading = match action {
        "created" => format!("Issue opened: {number}{title}"),
        "updated" => format!("Issue {number}updated: {title}"),
        "comment_created" => format!("New comment by {commenter} on issue {number}{title}"),
        other => format!("Issue {number}{}: {title}", other.replace('_', " ")),
    };
    let mut embed = base_embed(payload, &repository)
        .title(format!("[{}] {heading}", repository.full_name))
        .colour(if action == "created" {
            colour::GREEN
        } else {
            colour::NEUTRAL
        });
    let url = comment
        .filter(|_| action == "comment_created")
        .and_then(|comment| link(comment, "html"))
        .or_else(|| link(issue, "html"));
    if let Some(url) = url {
        embed = embed.url(url);
    }

    let comment_text = comment
        .and_then(|comment| text_at(comment, "content^raw"))
        .map(|text| truncate(text.trim(), COMMENT_CHARS));
    let description = match action {
        "comment_created" => comment_text,
        "updated" => {
            let mut parts = issue_changes(payload);
            parts.extend(comment_text);
            (!parts.is_empty()).then(|| parts.join("\n"))
        }
        _ if settings.include_description => {
            text_at(issue, "content^raw").map(|text| truncate(text.trim(), DESCRIPTION_CHARS))
        }
        _ => None,
    };
    if let Some(description) = description {
        embed = embed.description(description);
    }

    // The API names the issue's kind `kind` (its `type` is `issue`); Atlassian's payload
    // documentation calls it `type`.
    let kind = text_at(issue, "kind").or_else(|| text_at(issue, "type").filter(|t| *t != "issue"));
    let attributes = [
        ("State", text_at(issue, "state")),
        ("Kind", kind),
        ("Priority", text_at(issue, "priority")),
        ("Assignee", text_at(issue, "assignee^display_name")),
    ];
    for (name, value) in attributes {
        if let Some(value) = value {
            embed = embed.field(name, value, true);
        }
    }

    let timestamp = match action {
        "created" => text_at(issue, "created_on"),
        "comment_created" => comment.and_then(|comment| text_at(comment, "created_on")),
        _ => None,
    }
    .or_else(|| text_at(issue, "updated_on"));
    if let Some(timestamp) = timestamp {
        embed = embed.timestamp(timestamp);
    }
    Ok(embed)
}

/// `status: open → resolved`, one line per changed attribute of an `issue:updated`.
fn issue_changes(payload: &Value) -> Vec<String> {
    let Some(changes) = payload.get("changes").and_then(Value::as_object) else {
        return Vec::new();
    };
    changes
        .iter()
        .map(|(attribute, change)| {
            let side = |key: &str| {
                change
                    .get(key)
                    .map(display_value)
                    .filter(|value| !value.is_empty())
                    .unwrap_or_else(|| "none".to_string())
            };
            // Long values (a rewritten description) would drown the message; the link has them.
            let side = |key: &str| truncate(&side(key), COMMIT_SUBJECT_CHARS);
            format!("{attribute}: {} → {}", side("old"), side("new"))
        })
        .collect()
}

// ---- repo:commit_status_* ----------------------------------------------------------------

fn commit_status_embed(payload: &Value) -> Result<Embed, PluginError> {
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
    use super::*;

    const PUSH: &str = include_str!("../../bitbucket/samples/repo_push.json");
    const PR_CREATED: &str = include_str!("../../bitbucket/samples/pullrequest_created.json");
    const PR_UPDATED: &str = include_str!("../../bitbucket/samples/pullrequest_updated.json");
    const PR_APPROVED: &str = include_str!("../../bitbucket/samples/pullrequest_approved.json");
    const PR_UNAPPROVED: &str = include_str!("../../bitbucket/samples/pullrequest_unapproved.json");
    const PR_FULFILLED: &str = include_str!("../../bitbucket/samples/pullrequest_fulfilled.json");
    const PR_REJECTED: &str = include_str!("../../bitbucket/samples/pullrequest_rejected.json");
    const PR_COMMENT: &str =
        include_str!("../../bitbucket/samples/pullrequest_comment_created.json");
    const ISSUE_CREATED: &str = include_str!("../../bitbucket/samples/issue_created.json");
    const ISSUE_UPDATED: &str = include_str!("../../bitbucket/samples/issue_updated.json");
    const ISSUE_COMMENT: &str = include_str!("../../bitbucket/samples/issue_comment_created.json");
    const STATUS_UPDATED: &str =
        include_str!("../../bitbucket/samples/repo_commit_status_updated.json");

    const REPO: &str = "martinherren1984/publictestrepo";
    const NEW_HASH: &str = "c14c1bb05dfb1fdcdf06b31485fff61b0ea44277";
    const OLD_HASH: &str = "a51241ae1f00cbe728930db48e890b18fd527f99";
    const PR_URL: &str = "https://bitbucket.org/6543/collect-webhooks/pull-requests/2";

    fn config(value: Value) -> Config {
        match value {
            Value::Object(map) => Config::from_map(map),
            _ => Config::default(),
        }
    }

    fn format_with(key: &str, body: &str, settings: Value) -> Option<Message> {
        Embeds::format(&Event::new(key, body), &config(settings)).unwrap()
    }

    /// The single embed of a message, as it leaves the plugin (cut to Discord's limits).
    fn only_embed(key: &str, body: &str) -> Embed {
        let message = format_with(key, body, json!({}))
            .expect("a message")
            .within_limits();
        assert_eq!(message.embeds.len(), 1, "{message:?}");
        message.embeds.into_iter().next().unwrap()
    }

    fn field<'a>(embed: &'a Embed, name: &str) -> Option<&'a str> {
        embed
            .fields
            .iter()
            .find(|field| field.name == name)
            .map(|field| field.value.as_str())
    }

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

    #[test]
    fn created_pull_request_is_green_with_title_branches_and_link() {
        let embed = only_embed("pullrequest:created", PR_CREATED);
        assert_eq!(
            embed.title.as_deref(),
            Some("[6543/collect-webhooks] Pull request opened: #2 aha")
        );
        assert_eq!(embed.colour, Some(colour::GREEN));
        assert_eq!(embed.url.as_deref(), Some(PR_URL));
        assert_eq!(field(&embed, "Branches"), Some("`wen-emos` → `niam`"));
        assert_eq!(field(&embed, "State"), Some("Open"));
        assert_eq!(field(&embed, "Author"), Some("6543"));
        assert_eq!(embed.author.as_ref().unwrap().name, "6543");
        assert_eq!(
            embed.timestamp.as_deref(),
            Some("2025-08-12T15:46:15.353760+00:00")
        );
        assert_eq!(
            embed.footer.as_deref(),
            Some("Bitbucket • 6543/collect-webhooks")
        );
        // The real capture has an empty description, so none is shown.
        assert_eq!(embed.description, None);
    }

    #[test]
    fn merged_is_purple_and_declined_is_red_with_its_reason() {
        let merged = only_embed("pullrequest:fulfilled", PR_FULFILLED);
        assert_eq!(merged.colour, Some(colour::PURPLE));
        assert_eq!(
            merged.title.as_deref(),
            Some("[6543/collect-webhooks] Pull request merged: #2 aha")
        );
        assert_eq!(field(&merged, "State"), Some("Merged"));
        assert_eq!(
            field(&merged, "Merge commit"),
            Some("[`fc2a2c0`](https://bitbucket.org/6543/collect-webhooks/commits/fc2a2c05765d)")
        );

        let declined = only_embed("pullrequest:rejected", PR_REJECTED);
        assert_eq!(declined.colour, Some(colour::RED));
        assert_eq!(
            declined.title.as_deref(),
            Some("[6543/collect-webhooks] Pull request declined: #1 taerg era senilwen")
        );
        assert_eq!(
            declined.url.as_deref(),
            Some("https://bitbucket.org/6543/collect-webhooks/pull-requests/1")
        );
        assert_eq!(field(&declined, "State"), Some("Declined"));
        assert_eq!(field(&declined, "Reason"), Some("aaa"));
        assert_eq!(field(&declined, "Branches"), Some("`saa-erom` → `niam`"));
    }

    #[test]
    fn approvals_name_the_approver_and_mark_approved_participants() {
        let approved = only_embed("pullrequest:approved", PR_APPROVED);
        assert_eq!(
            approved.title.as_deref(),
            Some("[6543/collect-webhooks] Pull request #2 approved by demoaccount2-commits: aha")
        );
        assert_eq!(approved.colour, Some(colour::NEUTRAL));
        assert_eq!(
            field(&approved, "Participants"),
            Some("6543, demoaccount2-commits ✅")
        );
        assert_eq!(
            approved.timestamp.as_deref(),
            Some("2025-08-12T17:00:46.982257+00:00")
        );

        let withdrawn = only_embed("pullrequest:unapproved", PR_UNAPPROVED);
        assert_eq!(
            withdrawn.title.as_deref(),
            Some(
                "[6543/collect-webhooks] Pull request #2 approval withdrawn by demoaccount2-commits: aha"
            )
        );
        assert_eq!(
            field(&withdrawn, "Participants"),
            Some("6543, demoaccount2-commits")
        );

        let updated = only_embed("pullrequest:updated", PR_UPDATED);
        assert_eq!(
            updated.title.as_deref(),
            Some("[6543/collect-webhooks] Pull request updated: #2 aha")
        );
        assert_eq!(updated.colour, Some(colour::NEUTRAL));
    }

    #[test]
    fn reviewers_are_listed_with_their_review_state() {
        let mut payload: Value = serde_json::from_str(PR_APPROVED).unwrap();
        let approver = payload["approval"]["user"].clone();
        let author = payload["pullrequest"]["author"].clone();
        payload["pullrequest"]["reviewers"] = json!([approver, author]);
        payload["pullrequest"]["participants"][0]["state"] = json!("changes_requested");
        let embed = only_embed("pullrequest:approved", &payload.to_string());
        assert_eq!(
            field(&embed, "Reviewers"),
            Some("demoaccount2-commits ✅, 6543 (changes requested)")
        );
        assert_eq!(field(&embed, "Participants"), None);
    }

    #[test]
    fn comment_shows_the_comment_text_and_links_to_it() {
        let embed = only_embed("pullrequest:comment_created", PR_COMMENT);
        assert_eq!(
            embed.title.as_deref(),
            Some("[6543/collect-webhooks] New comment by 6543 on pull request #2 aha")
        );
        assert_eq!(embed.description.as_deref(), Some("a comment"));
        assert_eq!(
            embed.url.as_deref(),
            Some(
                "https://bitbucket.org/6543/collect-webhooks/pull-requests/2/_/diff#comment-669392967"
            )
        );
        assert_eq!(embed.colour, Some(colour::NEUTRAL));
        assert_eq!(
            embed.timestamp.as_deref(),
            Some("2025-08-12T16:51:27.119515+00:00")
        );
    }

    #[test]
    fn long_descriptions_are_cut_and_can_be_left_out() {
        let mut payload: Value = serde_json::from_str(PR_CREATED).unwrap();
        payload["pullrequest"]["description"] = json!(format!("Why:\n{}", "x".repeat(5000)));
        let body = payload.to_string();
        let embed = only_embed("pullrequest:created", &body);
        let description = embed.description.unwrap();
        assert!(description.starts_with("Why:\nxxx"));
        assert_eq!(description.chars().count(), DESCRIPTION_CHARS);
        assert!(description.ends_with('…'));

        let quiet = format_with(
            "pullrequest:created",
            &body,
            json!({"include_description": false}),
        );
        assert_eq!(quiet.unwrap().embeds[0].description, None);
    }

    #[test]
    fn issues_get_an_embed() {
        let created = only_embed("issue:created", ISSUE_CREATED);
        assert_eq!(
            created.title.as_deref(),
            Some("[team_name/repo_name] Issue opened: #1 Issue title")
        );
        assert_eq!(created.colour, Some(colour::GREEN));
        assert_eq!(created.description.as_deref(), Some("Issue description"));

        let updated = only_embed("issue:updated", ISSUE_UPDATED);
        assert_eq!(
            updated.description.as_deref(),
            Some("status: open → on hold\nComment text")
        );

        let comment = only_embed("issue:comment_created", ISSUE_COMMENT);
        assert_eq!(
            comment.title.as_deref(),
            Some("[team_name/repo_name] New comment by Emma on issue #1 Issue title")
        );
        assert_eq!(comment.description.as_deref(), Some("Comment text"));
    }

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

    #[test]
    fn other_events_post_nothing_and_bad_input_fails() {
        assert_eq!(format_with("repo:fork", PUSH, json!({})), None);
        let error = Embeds::format(&Event::new("pullrequest:created", "{}"), &Config::default())
            .unwrap_err();
        assert!(error.message().contains("pullrequest"), "{error}");
        let bad_config = config(json!({"max_commits": "ten"}));
        let error = Embeds::format(&Event::new("repo:push", PUSH), &bad_config).unwrap_err();
        assert!(error.message().contains("max_commits"), "{error}");
    }

    #[test]
    fn info_declares_the_config_keys() {
        let info = Embeds::info(PluginInfo::new("bitbucket-embeds", "0.1.0"));
        let keys: Vec<&str> = info
            .config_keys
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(
            keys,
            ["max_commits", "include_description", "commit_statuses"]
        );
    }
}
