//! The size of what a plugin returned, counted as the bytes of its strings and lists, so the
//! output limit is checked without serializing the result. Counted on the gateway's types, after
//! conversion, so one count serves every WIT version and covers whatever a version adds (an
//! email's recipients, subject and parts count like a request's URL, headers and body).

use super::types::{
    AlertAction, Message, NotifierOutput, OutboundEmail, OutboundRequest, PluginInfo,
    ProviderDescription,
};

/// What one call returned: its size, and the plugin's own error split off.
pub(super) trait OutputSize {
    type Ok;
    fn output_size(&self) -> usize;
    fn into_result(self) -> Result<Self::Ok, String>;
}

impl<T: ByteSize> OutputSize for Result<T, String> {
    type Ok = T;
    fn output_size(&self) -> usize {
        match self {
            Ok(value) => value.size(),
            Err(error) => error.len(),
        }
    }
    fn into_result(self) -> Result<T, String> {
        self
    }
}

macro_rules! infallible_output {
    ($($t:ty),*) => {$(
        impl OutputSize for $t {
            type Ok = $t;
            fn output_size(&self) -> usize {
                self.size()
            }
            fn into_result(self) -> Result<$t, String> {
                Ok(self)
            }
        }
    )*};
}
infallible_output!(PluginInfo, ProviderDescription);

/// Byte size of a returned value's strings and lists.
pub(super) trait ByteSize {
    fn size(&self) -> usize;
}

impl ByteSize for String {
    fn size(&self) -> usize {
        self.len()
    }
}

impl ByteSize for Vec<u8> {
    fn size(&self) -> usize {
        self.len()
    }
}

impl<T: ByteSize> ByteSize for Option<T> {
    fn size(&self) -> usize {
        self.as_ref().map_or(0, ByteSize::size)
    }
}

impl<A: ByteSize, B: ByteSize> ByteSize for (A, B) {
    fn size(&self) -> usize {
        self.0.size() + self.1.size()
    }
}

/// Lists of these are the sum of their items (a `Vec<u8>` is counted as bytes, above).
macro_rules! summed_lists {
    ($($t:ty),*) => {$(
        impl ByteSize for Vec<$t> {
            fn size(&self) -> usize {
                self.iter().map(ByteSize::size).sum()
            }
        }
    )*};
}
summed_lists!(String, (String, String), AlertAction, NotifierOutput);

impl ByteSize for AlertAction {
    fn size(&self) -> usize {
        match self {
            AlertAction::Open { alert } => {
                alert.key.size()
                    + alert.title.size()
                    + alert.source_status.size()
                    + alert.url.size()
                    + alert.description.size()
                    + alert.commit_hash.size()
                    + alert.commit_message.size()
                    + alert.actor.size()
                    + alert.labels.size()
            }
            AlertAction::Close { key: text } | AlertAction::Ignore { reason: text } => text.len(),
        }
    }
}

impl ByteSize for Message {
    fn size(&self) -> usize {
        self.text.len()
            + self
                .embeds
                .iter()
                .map(|embed| {
                    embed.title.size()
                        + embed.description.size()
                        + embed.url.size()
                        + embed.footer.size()
                        + embed.timestamp.size()
                        + embed.author.as_ref().map_or(0, |author| {
                            author.name.len() + author.url.size() + author.icon_url.size()
                        })
                        + embed
                            .fields
                            .iter()
                            .map(|field| field.name.len() + field.value.len())
                            .sum::<usize>()
                })
                .sum::<usize>()
    }
}

impl ByteSize for NotifierOutput {
    fn size(&self) -> usize {
        match self {
            NotifierOutput::Http(request) => request.size(),
            NotifierOutput::Email(email) => email.size(),
        }
    }
}

impl ByteSize for OutboundRequest {
    fn size(&self) -> usize {
        self.method.len() + self.url.len() + self.body.len() + self.headers.size()
    }
}

impl ByteSize for OutboundEmail {
    fn size(&self) -> usize {
        self.to.size() + self.subject.len() + self.text.len() + self.html.size()
    }
}

impl ByteSize for PluginInfo {
    fn size(&self) -> usize {
        self.name.len()
            + self.version.len()
            + self.api_version.len()
            + self.description.len()
            + self
                .config_keys
                .iter()
                .map(|key| key.name.len() + key.description.len())
                .sum::<usize>()
    }
}

impl ByteSize for ProviderDescription {
    fn size(&self) -> usize {
        self.event_header.len()
            + self.delivery_id_header.size()
            + self.attempt_header.size()
            + self
                .events
                .iter()
                .map(|event| event.key.len() + event.description.len() + event.sample.len())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mails_count_their_recipients_subject_and_both_parts() {
        let email = NotifierOutput::Email(OutboundEmail {
            to: vec!["a@example.com".into(), "bc@example.com".into()],
            subject: "[hookgate] x".into(),
            text: "1234".into(),
            html: Some("<p>1</p>".into()),
        });
        assert_eq!(email.size(), 13 + 14 + 12 + 4 + 8);
        let request = NotifierOutput::Http(OutboundRequest {
            method: "POST".into(),
            url: "https://x".into(),
            headers: vec![("a".into(), "bc".into())],
            body: b"12345".to_vec(),
            credential: None,
        });
        assert_eq!(request.size(), 4 + 9 + 3 + 5);
        let outputs: Result<Vec<NotifierOutput>, String> = Ok(vec![email, request]);
        assert_eq!(outputs.output_size(), 51 + 21);
    }
}
