/// An alert as a mapper proposes it. The gateway owns alert state and decides whether it opens
/// a new alert or is appended to the open one with the same key.
///
/// ```
/// use hookgate_plugin_sdk::prelude::*;
/// let alert = Alert::new("acme/widgets:main", "Pipeline #4 for main failed — acme/widgets")
///     .source_status("FAILED")
///     .url("https://bitbucket.org/acme/widgets/pipelines/4")
///     .label("branch", "main")
///     .severity(Severity::Critical);
/// assert_eq!(alert.key, "acme/widgets:main");
/// assert_eq!(Alert::new("k", "t").severity, Severity::Error);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Alert {
    /// Deduplication key, scoped to the endpoint.
    pub key: String,
    /// One line for people.
    pub title: String,
    /// The source's status value that caused it, e.g. `FAILED`.
    pub source_status: String,
    /// Where to look.
    pub url: Option<String>,
    /// Longer text.
    pub description: Option<String>,
    /// The commit concerned.
    pub commit_hash: Option<String>,
    /// That commit's message.
    pub commit_message: Option<String>,
    /// Who caused it.
    pub actor: Option<String>,
    /// Extra name/value pairs.
    pub labels: Vec<(String, String)>,
    /// How bad it is; [`Severity::Error`] unless set.
    pub severity: Severity,
}

impl Alert {
    /// An alert with this key and title, of severity `error`; every other field empty.
    pub fn new(key: impl Into<String>, title: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            title: title.into(),
            ..Self::default()
        }
    }

    /// Sets the source status.
    pub fn source_status(mut self, status: impl Into<String>) -> Self {
        self.source_status = status.into();
        self
    }

    /// Sets the link.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Sets the longer description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the commit hash and message.
    pub fn commit(mut self, hash: impl Into<String>, message: Option<String>) -> Self {
        self.commit_hash = Some(hash.into());
        self.commit_message = message;
        self
    }

    /// Sets who caused it.
    pub fn actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }

    /// Adds a label.
    pub fn label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.push((name.into(), value.into()));
        self
    }

    /// Sets how bad it is (default [`Severity::Error`]).
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }
}

/// How bad an alert is. The gateway orders pages by it and notifiers show it (the built-in
/// notifier sets an ntfy push's priority from it).
///
/// ```
/// use hookgate_plugin_sdk::Severity;
/// assert_eq!(Severity::parse("warning"), Some(Severity::Warning));
/// assert_eq!(Severity::Critical.as_str(), "critical");
/// assert_eq!(Severity::default(), Severity::Error);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Severity {
    /// Wakes people up.
    Critical,
    /// Something failed: the default.
    #[default]
    Error,
    /// May need a look.
    Warning,
    /// For the record.
    Info,
}

impl Severity {
    /// Every severity, worst first.
    pub const ALL: [Severity; 4] = [
        Severity::Critical,
        Severity::Error,
        Severity::Warning,
        Severity::Info,
    ];

    /// `critical`, `error`, `warning` or `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    /// The severity of this name, as [`Severity::as_str`] writes it.
    pub fn parse(name: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|severity| severity.as_str() == name)
    }
}

/// What a mapper asks the gateway to do with one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Open this alert, or append to the open one with its key.
    Open(Alert),
    /// Close the open alert with this key, if any.
    Close(String),
    /// Do nothing, for this reason (recorded as `Ignored: <reason>`).
    Ignore(String),
}

impl Action {
    /// `Action::Open(alert)`.
    pub fn open(alert: Alert) -> Self {
        Self::Open(alert)
    }

    /// `Action::Close(key)`.
    pub fn close(key: impl Into<String>) -> Self {
        Self::Close(key.into())
    }

    /// `Action::Ignore(reason)`.
    pub fn ignore(reason: impl Into<String>) -> Self {
        Self::Ignore(reason.into())
    }
}
