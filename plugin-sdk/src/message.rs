use crate::text::truncate;

/// Embed colours used by the built-in formatters (`0xRRGGBB`).
pub mod colour {
    /// Created, opened, succeeded.
    pub const GREEN: u32 = 0x2ECC71;
    /// Merged (fulfilled).
    pub const PURPLE: u32 = 0x9B59B6;
    /// Declined, rejected, failed.
    pub const RED: u32 = 0xE74C3C;
    /// Pushes and other informational events.
    pub const BLUE: u32 = 0x3498DB;
    /// Warnings, escalations.
    pub const ORANGE: u32 = 0xE67E22;
    /// Acknowledged: someone is on it.
    pub const YELLOW: u32 = 0xF1C40F;
    /// Everything else.
    pub const NEUTRAL: u32 = 0x95A5A6;
}

/// Discord's published embed limits. [`Message::within_limits`] cuts a message to fit them,
/// and every formatter's output passes through it, so no plugin can produce a message Discord
/// refuses for its size.
pub mod limits {
    /// Message text (`content`).
    pub const TEXT: usize = 2000;
    /// Embeds per message.
    pub const EMBEDS: usize = 10;
    /// Embed title.
    pub const TITLE: usize = 256;
    /// Embed description.
    pub const DESCRIPTION: usize = 4096;
    /// Fields per embed.
    pub const FIELDS: usize = 25;
    /// Field name.
    pub const FIELD_NAME: usize = 256;
    /// Field value.
    pub const FIELD_VALUE: usize = 1024;
    /// Footer text.
    pub const FOOTER: usize = 2048;
    /// Author name.
    pub const AUTHOR_NAME: usize = 256;
    /// Characters of all embeds of a message together.
    pub const TOTAL: usize = 6000;
}

/// The author line of an embed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EmbedAuthor {
    /// Display name.
    pub name: String,
    /// Link on the name.
    pub url: Option<String>,
    /// Avatar.
    pub icon_url: Option<String>,
}

/// A name/value field of an embed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EmbedField {
    /// Title.
    pub name: String,
    /// Text (Discord markdown).
    pub value: String,
    /// Shown beside its neighbours.
    pub inline: bool,
}

/// A rich card. Build it with the chained setters; limits are applied when the message leaves
/// the plugin.
///
/// Text is **Discord markdown**: the message text, the description and field values may use
/// `**bold**`, `*italic*`, `` `code` ``, and links written `[label](https://...)`. The built-in
/// notifier sends it to Discord as is and converts it for Slack (links become `<url|label>`,
/// `&`, `<`, `>` are escaped); titles, field names, the author and the footer are plain text.
/// The timestamp is RFC 3339 (see [`time::rfc3339_from_millis`](crate::time::rfc3339_from_millis)).
///
/// ```
/// use hookgate_plugin_sdk::prelude::*;
/// let embed = Embed::new()
///     .title("[acme/widgets] 2 new commits on main")
///     .url("https://bitbucket.org/acme/widgets/branch/main")
///     .colour(colour::BLUE)
///     .author("Ada", None, None)
///     .field("Branch", "main", true)
///     .footer("Bitbucket");
/// assert_eq!(embed.fields.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Embed {
    /// Title line.
    pub title: Option<String>,
    /// Body text (Discord markdown).
    pub description: Option<String>,
    /// Link on the title.
    pub url: Option<String>,
    /// Side colour.
    pub colour: Option<u32>,
    /// Author line.
    pub author: Option<EmbedAuthor>,
    /// Fields.
    pub fields: Vec<EmbedField>,
    /// Footer.
    pub footer: Option<String>,
    /// RFC 3339 timestamp.
    pub timestamp: Option<String>,
}

impl Embed {
    /// An empty embed.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the link.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Sets the colour (`0xRRGGBB`, see [`colour`]).
    pub fn colour(mut self, colour: u32) -> Self {
        self.colour = Some(colour);
        self
    }

    /// Sets the author line.
    pub fn author(
        mut self,
        name: impl Into<String>,
        url: Option<String>,
        icon_url: Option<String>,
    ) -> Self {
        self.author = Some(EmbedAuthor {
            name: name.into(),
            url,
            icon_url,
        });
        self
    }

    /// Adds a field. Empty names or values are replaced by `-`, as Discord refuses them.
    pub fn field(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
        inline: bool,
    ) -> Self {
        let non_empty = |text: String| {
            if text.trim().is_empty() {
                "-".to_string()
            } else {
                text
            }
        };
        self.fields.push(EmbedField {
            name: non_empty(name.into()),
            value: non_empty(value.into()),
            inline,
        });
        self
    }

    /// Sets the footer.
    pub fn footer(mut self, footer: impl Into<String>) -> Self {
        self.footer = Some(footer.into());
        self
    }

    /// Sets the timestamp (RFC 3339).
    pub fn timestamp(mut self, timestamp: impl Into<String>) -> Self {
        self.timestamp = Some(timestamp.into());
        self
    }

    /// The characters Discord counts towards [`limits::TOTAL`].
    pub fn counted_chars(&self) -> usize {
        let count = |text: &Option<String>| text.as_deref().map_or(0, |t| t.chars().count());
        count(&self.title)
            + count(&self.description)
            + count(&self.footer)
            + self
                .author
                .as_ref()
                .map_or(0, |author| author.name.chars().count())
            + self
                .fields
                .iter()
                .map(|field| field.name.chars().count() + field.value.chars().count())
                .sum::<usize>()
    }

    fn cut_fields_to_limits(&mut self) {
        let cut = |text: &mut Option<String>, max| {
            if let Some(value) = text {
                *value = truncate(value, max);
            }
        };
        cut(&mut self.title, limits::TITLE);
        cut(&mut self.description, limits::DESCRIPTION);
        cut(&mut self.footer, limits::FOOTER);
        if let Some(author) = &mut self.author {
            author.name = truncate(&author.name, limits::AUTHOR_NAME);
        }
        self.fields.truncate(limits::FIELDS);
        for field in &mut self.fields {
            field.name = truncate(&field.name, limits::FIELD_NAME);
            field.value = truncate(&field.value, limits::FIELD_VALUE);
        }
    }
}

/// A chat message: text, embeds, or both.
///
/// ```
/// use hookgate_plugin_sdk::prelude::*;
/// let message = Message::text("deployed")
///     .embed(Embed::new().title("x".repeat(300)))
///     .within_limits();
/// assert_eq!(message.embeds[0].title.as_ref().unwrap().chars().count(), limits::TITLE);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// Text (Discord markdown).
    pub text: String,
    /// Embeds.
    pub embeds: Vec<Embed>,
}

impl Message {
    /// A message with this text and no embeds.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            embeds: Vec::new(),
        }
    }

    /// A message with one embed and no text.
    pub fn with_embed(embed: Embed) -> Self {
        Self {
            text: String::new(),
            embeds: vec![embed],
        }
    }

    /// Adds an embed.
    pub fn embed(mut self, embed: Embed) -> Self {
        self.embeds.push(embed);
        self
    }

    /// The message cut to Discord's [`limits`]: each part truncated (ending in `…`), at most
    /// 10 embeds and 25 fields each, and, while the embeds together exceed 6000 characters,
    /// the last fields dropped, then descriptions shortened, then the last embeds dropped.
    pub fn within_limits(mut self) -> Self {
        self.text = truncate(&self.text, limits::TEXT);
        self.embeds.truncate(limits::EMBEDS);
        for embed in &mut self.embeds {
            embed.cut_fields_to_limits();
        }
        let total = |embeds: &[Embed]| embeds.iter().map(Embed::counted_chars).sum::<usize>();
        while total(&self.embeds) > limits::TOTAL {
            let excess = total(&self.embeds) - limits::TOTAL;
            let Some(last) = self.embeds.last_mut() else {
                break;
            };
            if last.fields.pop().is_some() {
                continue;
            }
            let description_chars = last.description.as_deref().map_or(0, |d| d.chars().count());
            if description_chars > 1 {
                let keep = description_chars.saturating_sub(excess).max(1);
                last.description = last.description.as_deref().map(|d| truncate(d, keep));
                if keep > 1 {
                    continue;
                }
            }
            if self.embeds.len() > 1 {
                self.embeds.pop();
            } else {
                // One embed of only title, author and footer: those are already capped well
                // below the total, so this cannot loop.
                break;
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_part_is_cut_to_its_limit() {
        let long = "é".repeat(5000);
        let mut embed = Embed::new()
            .title(long.clone())
            .description(long.clone())
            .footer(long.clone())
            .author(long.clone(), None, None);
        for _ in 0..30 {
            embed = embed.field(long.clone(), long.clone(), false);
        }
        let message = Message::text(long).embed(embed).within_limits();
        assert_eq!(message.text.chars().count(), limits::TEXT);
        let embed = &message.embeds[0];
        assert_eq!(embed.title.as_ref().unwrap().chars().count(), limits::TITLE);
        assert!(embed.fields.len() <= limits::FIELDS);
        assert!(embed.counted_chars() <= limits::TOTAL);
        assert!(
            embed
                .fields
                .iter()
                .all(|f| f.value.chars().count() <= limits::FIELD_VALUE)
        );
    }

    #[test]
    fn total_across_embeds_is_enforced() {
        let embed = Embed::new().description("x".repeat(4000));
        let message = Message::default()
            .embed(embed.clone())
            .embed(embed.clone())
            .embed(embed)
            .within_limits();
        let total: usize = message.embeds.iter().map(Embed::counted_chars).sum();
        assert!(total <= limits::TOTAL, "total {total}");
        assert_eq!(message.embeds.len(), 2);
    }

    #[test]
    fn small_messages_are_untouched() {
        let message = Message::text("hi").embed(Embed::new().title("t").field("a", "b", true));
        assert_eq!(message.clone().within_limits(), message);
    }

    #[test]
    fn too_many_embeds_are_dropped() {
        let mut message = Message::default();
        for _ in 0..12 {
            message = message.embed(Embed::new().title("t"));
        }
        assert_eq!(message.within_limits().embeds.len(), limits::EMBEDS);
    }
}
