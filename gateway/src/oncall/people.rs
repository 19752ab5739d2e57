//! Users and teams (SPEC §12): who can be paged, on which contact methods, and when.
//!
//! Address checks, by kind, chosen to refuse at save time what could never be delivered:
//! - `email`: a plain `local@domain.tld` in ASCII: the local part a dot-atom (letters, digits,
//!   ``!#$%&'*+/=?^_`{|}~-`` and single inner dots, at most 64), the domain at least two
//!   labels of letters, digits and inner hyphens (each at most 63, at most 253 in all) with a
//!   TLD that is not all digits. No quoted local parts, comments, IP literals or
//!   internationalised addresses: legal in RFC 5321, but no one's pager address.
//! - `sms`, `voice`: E.164, `+` and 8 to 15 digits (the same check as destinations).
//! - `ntfy`: an absolute `http(s)` URL with a host. Whether it may point to a private address
//!   depends on the gateway's configuration, so that rule is the caller's (as for
//!   destinations).

use super::{FieldError, parse_time_zone, utc};
use crate::config::{USER_MIN_PASSWORD_CHARS, is_e164};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// A user `us_<n>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// Shown on pages and in the console.
    pub name: String,
    /// Their own address (the console sign-in name), not necessarily a contact method.
    pub email: String,
    /// IANA zone the console shows their times in; `UTC` when absent.
    #[serde(default = "utc")]
    pub time_zone: String,
    /// What they may do.
    pub role: Role,
    /// Where pages go.
    #[serde(default)]
    pub contact_methods: Vec<ContactMethod>,
    /// When each contact method is used after a page; none means all of them at once.
    #[serde(default)]
    pub notification_rules: Vec<NotificationRule>,
    /// Input only: read from a request, never written back out (no answer, log or export
    /// carries it). The caller takes it with [`User::take_password`], hashes it, and stores the
    /// hash elsewhere.
    #[serde(default, skip_serializing)]
    #[schema(value_type = Option<String>, write_only)]
    pub password: Option<Password>,
}

/// A password as typed; its `Debug` does not show it, and it has no `Serialize`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Password(String);

/// What a user may do (SPEC §12): a viewer reads; a responder also acknowledges and closes
/// alerts; an admin does everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything.
    Admin,
    /// Reads, acknowledges and closes alerts.
    Responder,
    /// Reads.
    Viewer,
}

/// One place a user can be paged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactMethod {
    /// The channel.
    pub kind: ContactKind,
    /// An email address, an E.164 number or an ntfy topic URL, by kind.
    pub address: String,
}

/// The channels a user can be paged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ContactKind {
    /// Mail.
    Email,
    /// A text message (Twilio).
    Sms,
    /// A phone call (Twilio).
    Voice,
    /// An ntfy topic.
    Ntfy,
}

/// Use contact method `contact` (an index into the user's `contact_methods`) `after_minutes`
/// after a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationRule {
    /// Index into `contact_methods`.
    pub contact: usize,
    /// Minutes after the page.
    pub after_minutes: u32,
}

/// A team `tm_<n>`: paged as its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Team {
    /// Shown in the console.
    pub name: String,
    /// User ids, each once.
    #[serde(default)]
    pub members: Vec<String>,
}

impl Password {
    /// The password as typed, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Password(..)")
    }
}

impl From<&str> for Password {
    fn from(text: &str) -> Self {
        Self(text.to_owned())
    }
}

impl User {
    /// Checks every field; the error names the first bad one by its JSON path.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.name.trim().is_empty() {
            return Err(FieldError::new("name", "must not be empty"));
        }
        if !is_email_address(&self.email) {
            return Err(FieldError::new(
                "email",
                format!("{:?} is not an email address", self.email),
            ));
        }
        parse_time_zone("time_zone", &self.time_zone)?;
        for (index, method) in self.contact_methods.iter().enumerate() {
            method.check().map_err(|reason| {
                FieldError::new(format!("contact_methods[{index}].address"), reason)
            })?;
        }
        for (index, rule) in self.notification_rules.iter().enumerate() {
            if rule.contact >= self.contact_methods.len() {
                return Err(FieldError::new(
                    format!("notification_rules[{index}].contact"),
                    format!(
                        "{} is not a contact method (there are {})",
                        rule.contact,
                        self.contact_methods.len()
                    ),
                ));
            }
        }
        if let Some(password) = &self.password
            && password.0.chars().count() < USER_MIN_PASSWORD_CHARS
        {
            return Err(FieldError::new(
                "password",
                format!("must have at least {USER_MIN_PASSWORD_CHARS} characters"),
            ));
        }
        Ok(())
    }

    /// Removes the password from the record, for the caller to hash; what is left may be
    /// stored and answered.
    pub fn take_password(&mut self) -> Option<Password> {
        self.password.take()
    }

    /// Which contact methods a page at `paged_at` uses and when, earliest first (rule order
    /// among equal times): without rules, every method at once; with rules, each rule's method
    /// its minutes after the page (a method may be used more than once; rules naming no method
    /// are skipped).
    pub fn pages_for(&self, paged_at: Timestamp) -> Vec<(usize, Timestamp)> {
        let mut pages: Vec<(usize, Timestamp)> = if self.notification_rules.is_empty() {
            (0..self.contact_methods.len())
                .map(|index| (index, paged_at))
                .collect()
        } else {
            (self.notification_rules.iter())
                .filter(|rule| rule.contact < self.contact_methods.len())
                .map(|rule| {
                    let after = SignedDuration::from_mins(i64::from(rule.after_minutes));
                    let due = paged_at.checked_add(after).unwrap_or(Timestamp::MAX);
                    (rule.contact, due)
                })
                .collect()
        };
        pages.sort_by_key(|&(_, due)| due);
        pages
    }
}

impl ContactMethod {
    /// Why the address cannot be used for its kind.
    fn check(&self) -> Result<(), String> {
        let address = &self.address;
        let usable = match self.kind {
            ContactKind::Email => is_email_address(address),
            ContactKind::Sms | ContactKind::Voice => is_e164(address),
            ContactKind::Ntfy => url::Url::parse(address).is_ok_and(|url| {
                matches!(url.scheme(), "http" | "https")
                    && url.host_str().is_some_and(|h| !h.is_empty())
            }),
        };
        let wanted = match self.kind {
            ContactKind::Email => "an email address",
            ContactKind::Sms | ContactKind::Voice => "a number in E.164, like +15551234567",
            ContactKind::Ntfy => "an http(s) URL, like https://ntfy.sh/my-pages",
        };
        if usable {
            Ok(())
        } else {
            Err(format!("{address:?} is not {wanted}"))
        }
    }
}

impl Team {
    /// Checks the team, `known_user` saying which user ids exist.
    pub fn validate(&self, known_user: impl Fn(&str) -> bool) -> Result<(), FieldError> {
        if self.name.trim().is_empty() {
            return Err(FieldError::new("name", "must not be empty"));
        }
        for (index, member) in self.members.iter().enumerate() {
            let field = || format!("members[{index}]");
            if self.members[..index].contains(member) {
                return Err(FieldError::new(
                    field(),
                    format!("{member:?} is listed twice"),
                ));
            }
            if !known_user(member) {
                return Err(FieldError::new(field(), format!("no user {member:?}")));
            }
        }
        Ok(())
    }
}

/// The strict, simple address check the module documentation describes.
pub fn is_email_address(address: &str) -> bool {
    const LOCAL_SPECIALS: &[u8] = b"!#$%&'*+/=?^_`{|}~-";
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    let dot_separated = |part: &str, allowed: &dyn Fn(u8) -> bool| {
        part.split('.')
            .all(|atom| !atom.is_empty() && atom.bytes().all(allowed))
    };
    let local_ok = (1..=64).contains(&local.len())
        && dot_separated(local, &|byte| {
            byte.is_ascii_alphanumeric() || LOCAL_SPECIALS.contains(&byte)
        });
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
        })
        && labels
            .last()
            .is_some_and(|tld| !tld.bytes().all(|byte| byte.is_ascii_digit()));
    address.len() <= 254 && local_ok && domain_ok
}

#[cfg(test)]
mod tests;
