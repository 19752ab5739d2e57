//! The four built-in plugins, compiled to components and run through the runtime (as the
//! gateway runs them) on the real Bitbucket fixtures.

use hookgate::builtin::BUILTIN_PLUGINS;
use hookgate::runtime::{
    AlertAction, AlertNotice, AlertState, ApiVersion, Credential, DigestEncoding, HmacAlgorithm,
    LoadedPlugin, Message, Notification, NotificationContext, NotifierOutput, PluginDestination,
    PluginKind, PluginRegistry, PluginSet, Severity, SignatureScheme,
};
use hookgate::verify;
use hookgate_tests::{commit_status_payload, engine, event, fixture};
use serde_json::{Value, json};
use std::sync::{Arc, OnceLock};

fn builtins() -> &'static Arc<PluginSet> {
    static SET: OnceLock<Arc<PluginSet>> = OnceLock::new();
    SET.get_or_init(|| {
        PluginRegistry::new(engine(), BUILTIN_PLUGINS, None)
            .expect("the built-ins load")
            .snapshot()
    })
}

fn plugin(name: &str, kind: PluginKind) -> &'static LoadedPlugin {
    builtins().get_kind(name, kind).expect("built-in present")
}

fn format(event_key: &str, fixture_name: &str) -> Message {
    plugin("bitbucket-embeds", PluginKind::Formatter)
        .format(&event(event_key, &fixture(fixture_name)), "{}")
        .expect("formatter call")
        .unwrap_or_else(|| panic!("{event_key} produced no message"))
}

#[test]
fn all_four_builtins_load_with_their_kinds() {
    let set = builtins();
    for (name, kind) in [
        ("bitbucket", PluginKind::Provider),
        ("bitbucket-pipelines", PluginKind::AlertMapper),
        ("bitbucket-embeds", PluginKind::Formatter),
        ("notifier", PluginKind::Notifier),
    ] {
        let plugin = set.get_kind(name, kind).unwrap();
        assert_eq!(plugin.info().api_version, "0.2.0");
        assert_eq!(plugin.api_version(), ApiVersion::V0_2);
        assert!(
            !plugin.info().description.is_empty(),
            "{name} has a description"
        );
    }
}

#[test]
fn bitbucket_provider_describes_headers_signature_and_events() {
    let description = plugin("bitbucket", PluginKind::Provider)
        .description()
        .unwrap();
    assert_eq!(description.event_header, "X-Event-Key");
    assert_eq!(
        description.delivery_id_header.as_deref(),
        Some("X-Request-UUID")
    );
    assert_eq!(
        description.signature,
        Some(SignatureScheme::Hmac {
            header: "X-Hub-Signature".into(),
            prefix: "sha256=".into(),
            algorithm: HmacAlgorithm::Sha256,
            encoding: DigestEncoding::Hex,
        })
    );
    let keys: Vec<&str> = description.events.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "repo:push",
            "pullrequest:created",
            "pullrequest:updated",
            "pullrequest:approved",
            "pullrequest:unapproved",
            "pullrequest:fulfilled",
            "pullrequest:rejected",
            "pullrequest:comment_created",
            "pullrequest:changes_request_created",
            "pullrequest:changes_request_removed",
            "pullrequest:comment_updated",
            "pullrequest:comment_deleted",
            "pullrequest:comment_resolved",
            "pullrequest:comment_reopened",
            "issue:created",
            "issue:updated",
            "issue:comment_created",
            "repo:commit_status_created",
            "repo:commit_status_updated",
            "repo:fork",
            "repo:updated",
            "repo:transfer",
            "repo:commit_comment_created",
            "repo:imported",
            "repo:deleted",
        ]
    );
    let pushes: Vec<&str> = description
        .events
        .iter()
        .filter(|e| e.push)
        .map(|e| e.key.as_str())
        .collect();
    assert_eq!(pushes, ["repo:push"]);
    for event in &description.events {
        serde_json::from_str::<Value>(&event.sample)
            .unwrap_or_else(|error| panic!("{} sample: {error}", event.key));
    }
}

#[test]
fn pipelines_mapper_opens_closes_and_ignores() {
    let mapper = plugin("bitbucket-pipelines", PluginKind::AlertMapper);
    let map = |state: &str| {
        mapper
            .map_event(
                &event("repo:commit_status_updated", &commit_status_payload(state)),
                "{}",
            )
            .unwrap()
    };
    let key = "automationtestharness/testrepo:main";
    let [AlertAction::Open { alert }] = &map("FAILED")[..] else {
        panic!("FAILED should open");
    };
    assert_eq!(alert.key, key);
    assert_eq!(alert.source_status, "FAILED");
    assert_eq!(
        alert.commit_hash.as_deref(),
        Some("bdf6fac0519ffd1562461eb82e018ff62efffbc9")
    );
    assert_eq!(map("SUCCESSFUL"), [AlertAction::Close { key: key.into() }]);
    assert_eq!(map("INPROGRESS"), [AlertAction::Close { key: key.into() }]);
    assert!(matches!(&map("STOPPED")[..], [AlertAction::Ignore { .. }]));
}

#[test]
fn push_becomes_an_embed_listing_the_commits() {
    let message = format("repo:push", "repo_push.json");
    let push: Value = serde_json::from_str(&fixture("repo_push.json")).unwrap();
    let rendered = serde_json::to_string(&message).unwrap();
    let commits = push["push"]["changes"][0]["commits"].as_array().unwrap();
    assert!(!commits.is_empty());
    for commit in commits.iter().take(10) {
        let hash = commit["hash"].as_str().unwrap();
        assert!(
            rendered.contains(&hash[..7]),
            "commit {hash} listed: {rendered}"
        );
        let first_line = commit["message"].as_str().unwrap().lines().next().unwrap();
        assert!(
            rendered.contains(first_line.trim()),
            "message {first_line:?} listed"
        );
    }
    let repository = push["repository"]["full_name"].as_str().unwrap();
    assert!(rendered.contains(repository));
}

#[test]
fn pull_requests_are_coloured_by_action() {
    let colour = |key: &str, file: &str| format(key, file).embeds[0].colour;
    assert_eq!(
        colour("pullrequest:created", "pullrequest_created.json"),
        Some(0x2ECC71)
    );
    assert_eq!(
        colour("pullrequest:fulfilled", "pullrequest_fulfilled.json"),
        Some(0x9B59B6)
    );
    assert_eq!(
        colour("pullrequest:rejected", "pullrequest_rejected.json"),
        Some(0xE74C3C)
    );

    let created: Value = serde_json::from_str(&fixture("pullrequest_created.json")).unwrap();
    let message = format("pullrequest:created", "pullrequest_created.json");
    let embed = &message.embeds[0];
    let title = created["pullrequest"]["title"].as_str().unwrap();
    assert!(
        embed.title.as_deref().unwrap().contains(title),
        "{:?}",
        embed.title
    );
    assert_eq!(
        embed.url.as_deref(),
        created["pullrequest"]["links"]["html"]["href"].as_str()
    );
}

#[test]
fn a_pull_request_comment_carries_its_text() {
    let payload: Value =
        serde_json::from_str(&fixture("pullrequest_comment_created.json")).unwrap();
    let comment = payload["comment"]["content"]["raw"].as_str().unwrap();
    let rendered = serde_json::to_string(&format(
        "pullrequest:comment_created",
        "pullrequest_comment_created.json",
    ))
    .unwrap();
    assert!(rendered.contains(comment.trim()), "{rendered}");
}

fn notify(kind: &str, notification: &Notification) -> Value {
    let requests = plugin("notifier", PluginKind::Notifier)
        .notify(
            notification,
            &NotificationContext {
                endpoint_id: "ep_1".into(),
                endpoint_name: "widgets CI".into(),
                event_key: "repo:push".into(),
                inbound_id: "in_1".into(),
                delivery_id: "dl_1".into(),
            },
            &PluginDestination {
                kind: kind.into(),
                url: "https://receiver.example/hook".into(),
                config: "{}".into(),
            },
        )
        .unwrap();
    assert_eq!(requests.len(), 1, "{kind}");
    let request = requests[0].http().expect("an HTTP request");
    assert_eq!(request.method, "POST");
    assert_eq!(request.url, "https://receiver.example/hook");
    serde_json::from_slice(&request.body).unwrap()
}

#[test]
fn notifier_shapes_discord_slack_and_webhook_bodies() {
    let message = Notification::Message(format("pullrequest:created", "pullrequest_created.json"));

    let discord = notify("discord", &message);
    assert_eq!(discord["embeds"][0]["color"], 0x2ECC71);
    assert!(discord["embeds"][0]["title"].is_string());

    let slack = notify("slack", &message);
    assert!(slack["text"].is_string(), "{slack}");

    let webhook = notify("webhook", &message);
    assert_eq!(webhook["type"], "message");
    assert_eq!(webhook["event_key"], "repo:push");
    assert_eq!(webhook["inbound_id"], "in_1");
    assert!(webhook["message"]["embeds"].is_array(), "{webhook}");
}

#[test]
fn a_signed_webhook_verifies_with_standard_webhooks() {
    let message = Notification::Message(format("repo:push", "repo_push.json"));
    let mut requests = plugin("notifier", PluginKind::Notifier)
        .notify(
            &message,
            &NotificationContext {
                delivery_id: "dl_signed".into(),
                ..NotificationContext::default()
            },
            &PluginDestination {
                kind: "webhook".into(),
                url: "https://receiver.example/hook".into(),
                config: "{}".into(),
            },
        )
        .unwrap();
    let request = requests[0].http_mut().expect("an HTTP request");
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    verify::add_standard_webhooks_headers(
        &mut request.headers,
        secret,
        "dl_signed",
        1_700_000_000,
        &request.body,
    );
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    assert_eq!(header("webhook-id"), Some("dl_signed"));
    assert_eq!(
        verify::verify_standard_webhooks(
            secret,
            header("webhook-id").unwrap(),
            header("webhook-timestamp").unwrap(),
            &request.body,
            header("webhook-signature").unwrap(),
            1_700_000_010,
        ),
        Ok(())
    );
}

/// The built-in notifier is a 0.2 plugin: the host asks it through `shape`, tells it of
/// acknowledged and escalated alerts, and keeps the credential and the mail it names.
#[test]
fn the_0_2_notifier_is_told_every_notice_and_names_credentials_and_mails() {
    let Some(AlertAction::Open { alert }) = plugin("bitbucket-pipelines", PluginKind::AlertMapper)
        .map_event(
            &event(
                "repo:commit_status_updated",
                &commit_status_payload("FAILED"),
            ),
            r#"{"severity": "warning"}"#,
        )
        .unwrap()
        .into_iter()
        .next()
    else {
        panic!("FAILED opens");
    };
    assert_eq!(alert.severity, Severity::Warning);
    let notice = AlertNotice {
        id: "al_1".into(),
        alert,
        state: AlertState::Acknowledged,
        count: 1,
        opened_at: 1_700_000_000_000,
        closed_at: None,
        acknowledged_by: Some("Ada".into()),
        escalation_step: Some(3),
        ack_url: Some("https://hookgate.example/a/t0k".into()),
    };
    let shape = |notification: &Notification, kind: &str, url: &str, config: Value| {
        plugin("notifier", PluginKind::Notifier)
            .notify(
                notification,
                &NotificationContext::default(),
                &PluginDestination {
                    kind: kind.into(),
                    url: url.into(),
                    config: config.to_string(),
                },
            )
            .unwrap()
    };
    let acknowledged = Notification::AlertAcknowledged(notice.clone());
    let escalated = Notification::AlertEscalated(notice);

    let [NotifierOutput::Http(webhook)] = &shape(
        &acknowledged,
        "webhook",
        "https://receiver.example/hook",
        json!({}),
    )[..] else {
        panic!("one request");
    };
    let body: Value = serde_json::from_slice(&webhook.body).unwrap();
    assert_eq!(body["type"], "alert.acknowledged");
    assert_eq!(body["alert"]["acknowledged_by"], "Ada");
    assert_eq!(webhook.credential, None);

    let [NotifierOutput::Http(push)] =
        &shape(&escalated, "ntfy", "https://ntfy.example/team", json!({}))[..]
    else {
        panic!("one request");
    };
    assert_eq!(push.credential, Some(Credential::DestinationToken));
    let priority = push.headers.iter().find(|(name, _)| name == "Priority");
    assert_eq!(
        priority.map(|(_, value)| value.as_str()),
        Some("3"),
        "warning"
    );

    let twilio = json!({
        "to": "+15551234567",
        "twilio_api_url": "https://api.twilio.example",
        "twilio_account_sid": "AC0123",
        "twilio_from": "+15557654321",
    });
    let [NotifierOutput::Http(sms)] = &shape(&escalated, "sms", "", twilio)[..] else {
        panic!("one request");
    };
    assert_eq!(sms.credential, Some(Credential::Twilio));

    let [NotifierOutput::Email(mail)] =
        &shape(&escalated, "email", "", json!({"to": ["ops@example.com"]}))[..]
    else {
        panic!("one mail");
    };
    assert_eq!(mail.to, ["ops@example.com"]);
    assert!(
        mail.subject.starts_with("[hookgate] Escalated: "),
        "{}",
        mail.subject
    );
    assert!(mail.text.contains("Escalated: step 3"), "{}", mail.text);
    assert!(
        mail.html
            .as_deref()
            .is_some_and(|html| html.contains("https://hookgate.example/a/t0k"))
    );
}
