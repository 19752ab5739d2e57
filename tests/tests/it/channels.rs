//! The channels over real sockets: a FAILED pipeline mails (a real SMTP server), texts (sms),
//! calls (voice) and pushes (ntfy) through a Twilio-shaped fake and an ntfy-shaped receiver, and
//! the green build is heard resolved on each, the mail threaded to the one that opened it; Twilio's faults are
//! retried or failed with their code in the attempt; destinations that cannot work are refused
//! when saved; and the Twilio and ntfy tokens appear in no answer, no log line and nothing the
//! notifier shaped.

use crate::escalation::post_pipeline;
use base64::Engine as _;
use hookgate::config::{GatewayConfig, SecretText};
use hookgate_tests::commit_status_payload;
use hookgate_tests::harness::{
    CaptureReceiver, Captured, ChildGateway, ChildGatewayConfig, GatewayClient, TestGateway,
    wait_for,
};
use hookgate_tests::smtp::SmtpServer;
use hookgate_tests::twilio::{self, FakeTwilio, TwilioCall};
use serde_json::{Value, json};
use std::time::Duration;

const NTFY_TOKEN: &str = "tk_ntfy-access-token-never-logged-91c2";
const ON_CALL: &str = "+15551234567";
const ON_CALL_EMAIL: &str = "oncall@example.com";
/// The fixture's `commit_status.url`: the alert's link.
const PIPELINE_URL: &str =
    "https://bitbucket.org/automationtestharness/testrepo/addon/pipelines/home#!/results/4";
const ALERT_TITLE: &str = "Pipeline #4 for main failed — automationtestharness/testrepo";

/// `[twilio]` pointing at the fake, with the fake's credentials (or `token`).
pub(crate) fn use_twilio(config: &mut GatewayConfig, fake: &FakeTwilio, token: &str) {
    config.twilio.api_url = fake.url.clone();
    config.twilio.account_sid = Some(twilio::ACCOUNT_SID.into());
    config.twilio.from = Some(twilio::FROM.into());
    config.twilio.auth_token = Some(SecretText::new(token));
}

/// An endpoint mapping pipeline states to critical alerts, notifying `destinations`.
fn pipeline_endpoint(gateway: &GatewayClient, destinations: Value) -> Value {
    gateway.create_endpoint(json!({
        "name": "widgets CI",
        "events": ["repo:commit_status_updated"],
        "alerts": {"plugin": "bitbucket-pipelines", "config": {"severity": "critical"}},
        "destinations": destinations,
    }))
}

/// The endpoint's deliveries, once none is pending or retrying and there are `count`.
fn settled_deliveries(gateway: &GatewayClient, endpoint: &Value, count: usize) -> Vec<Value> {
    let path = format!("/deliveries?endpoint={}", endpoint["id"].as_str().unwrap());
    let mut items = Vec::new();
    wait_for(
        &format!("{count} settled deliveries"),
        Duration::from_secs(60),
        || {
            items = gateway.all(&path);
            items.len() == count
                && items
                    .iter()
                    .all(|item| item["status"] == "delivered" || item["status"] == "failed")
        },
    );
    items
}

fn delivery_of_kind<'a>(deliveries: &'a [Value], kind: &str) -> &'a Value {
    deliveries
        .iter()
        .find(|delivery| delivery["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} delivery in {deliveries:?}"))
}

fn calls_to(fake: &FakeTwilio, resource: &str) -> Vec<TwilioCall> {
    fake.calls()
        .into_iter()
        .filter(|call| call.resource == resource)
        .collect()
}

/// A header as ntfy reads it: RFC 2047 `=?UTF-8?B?...?=` decoded.
fn ntfy_header(push: &Captured, name: &str) -> String {
    let value = push.header(name).unwrap_or_default();
    match value
        .strip_prefix("=?UTF-8?B?")
        .and_then(|rest| rest.strip_suffix("?="))
    {
        Some(encoded) => String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .expect("base64 word"),
        )
        .expect("UTF-8 word"),
        None => value.to_string(),
    }
}

/// What ntfy needs of a push: the topic path, its headers, a text body and the Bearer token.
fn assert_ntfy_push(push: &Captured, title: &str, priority: &str, token: Option<&str>) {
    assert_eq!(push.path, "/team-alerts");
    assert_eq!(ntfy_header(push, "title"), title);
    assert_eq!(push.header("priority"), Some(priority));
    assert!(
        push.header("tags")
            .is_some_and(|tags| tags.contains("hookgate")),
        "{:?}",
        push.headers
    );
    assert_eq!(push.header("click"), Some(PIPELINE_URL));
    assert!(
        push.header("content-type")
            .is_some_and(|kind| kind.starts_with("text/plain")),
        "{:?}",
        push.headers
    );
    assert!(
        !push.body.is_empty() && !push.body.starts_with('{'),
        "{}",
        push.body
    );
    let expected = token.map(|token| format!("Bearer {token}"));
    assert_eq!(push.header("authorization"), expected.as_deref());
}

#[test]
fn a_failed_pipeline_mails_texts_calls_and_pushes_and_each_hears_it_resolved() {
    let fake = FakeTwilio::start();
    let smtp = SmtpServer::start();
    let gateway = TestGateway::start(|config| {
        use_twilio(config, &fake, twilio::AUTH_TOKEN);
        crate::email::use_smtp(config, &smtp);
    });
    let ntfy = CaptureReceiver::start();
    let endpoint = pipeline_endpoint(
        &gateway,
        json!([
            {"kind": "email", "to": ON_CALL_EMAIL},
            {"kind": "sms", "to": ON_CALL},
            {"kind": "voice", "to": ON_CALL},
            {"kind": "ntfy", "url": format!("{}/team-alerts", ntfy.url), "token": NTFY_TOKEN},
        ]),
    );
    post_pipeline(&gateway, &endpoint, "FAILED", 1);
    let deliveries = settled_deliveries(&gateway, &endpoint, 4);
    for delivery in &deliveries {
        assert_eq!(delivery["status"], "delivered", "{delivery}");
    }

    let mails = smtp.wait_for_messages(1);
    assert_eq!(mails.len(), 1, "{mails:?}");
    let opened = &mails[0];
    assert_eq!(opened.rcpt_tos, vec![ON_CALL_EMAIL.to_string()]);
    assert_eq!(opened.subject(), format!("[hookgate] {ALERT_TITLE}"));
    let text = opened.part("text/plain").expect("a text part");
    assert!(text.contains(ALERT_TITLE), "{text}");
    assert!(text.contains(PIPELINE_URL), "{text}");
    let html = opened.part("text/html").expect("an HTML part");
    assert!(html.contains(&format!("href=\"{PIPELINE_URL}\"")), "{html}");
    // The title's dash and the repository's slash survive; nothing in it is markup.
    assert!(html.contains("automationtestharness/testrepo"), "{html}");
    let email_delivery = delivery_of_kind(&deliveries, "email");
    assert_eq!(
        opened.header("X-Hookgate-Delivery").as_deref(),
        email_delivery["id"].as_str()
    );
    let opener_id = opened.message_id().expect("a Message-ID");

    let messages = calls_to(&fake, "Messages.json");
    assert_eq!(messages.len(), 1, "{messages:?}");
    let sms = &messages[0];
    assert!(sms.authenticated);
    assert_eq!(sms.account_sid, twilio::ACCOUNT_SID);
    assert_eq!(sms.field("To"), ON_CALL);
    assert_eq!(sms.field("From"), twilio::FROM);
    let body = sms.field("Body");
    assert!(body.starts_with(&format!("ALERT: {ALERT_TITLE}")), "{body}");
    assert!(body.contains("Status FAILED"), "{body}");
    assert!(
        body.lines().last().unwrap().starts_with("https://"),
        "{body}"
    );
    assert_eq!(
        sms.idempotency_key.as_deref(),
        delivery_of_kind(&deliveries, "sms")["id"].as_str()
    );

    let calls = calls_to(&fake, "Calls.json");
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].authenticated);
    assert_eq!(calls[0].field("To"), ON_CALL);
    assert_eq!(
        calls[0].field("Twiml"),
        format!(
            "<Response><Say>hookgate alert. {ALERT_TITLE}. Status FAILED. The alert is open.\
             </Say></Response>"
        )
    );

    // The mapper's severity reaches the alert and, through the notifier, the push's priority.
    let (_, alerts) = gateway.api("GET", "/alerts?state=open", None);
    assert_eq!(alerts["items"][0]["severity"], "critical", "{alerts}");
    let pushes = ntfy.wait_for_requests(1);
    assert_eq!(pushes.len(), 1);
    assert_ntfy_push(
        &pushes[0],
        &format!("ALERT: {ALERT_TITLE}"),
        "5",
        Some(NTFY_TOKEN),
    );

    // The pipeline passes: each destination hears it resolved, the push at priority 3 and the
    // mail in the thread of the one that opened the alert.
    post_pipeline(&gateway, &endpoint, "SUCCESSFUL", 2);
    settled_deliveries(&gateway, &endpoint, 8);
    let mails = smtp.wait_for_messages(2);
    let resolved_mail = &mails[1];
    assert_eq!(
        resolved_mail.subject(),
        format!("[hookgate] Resolved: {ALERT_TITLE}")
    );
    assert_eq!(resolved_mail.in_reply_to(), vec![opener_id.clone()]);
    assert!(resolved_mail.references().contains(&opener_id));
    assert_ne!(resolved_mail.message_id(), Some(opener_id));
    let resolved = calls_to(&fake, "Messages.json");
    assert!(
        resolved[1].field("Body").starts_with("Resolved: "),
        "{resolved:?}"
    );
    let pushes = ntfy.wait_for_requests(2);
    assert_ntfy_push(
        &pushes[1],
        &format!("Resolved: {ALERT_TITLE}"),
        "3",
        Some(NTFY_TOKEN),
    );
}

#[test]
fn twilio_faults_are_retried_or_failed_with_their_code() {
    let fake = FakeTwilio::start();
    let gateway = TestGateway::start(|config| use_twilio(config, &fake, twilio::AUTH_TOKEN));
    // Too many requests once: retried, then delivered.
    fake.script(&[429]);
    let endpoint = pipeline_endpoint(&gateway, json!([{"kind": "sms", "to": ON_CALL}]));
    post_pipeline(&gateway, &endpoint, "FAILED", 1);
    let deliveries = settled_deliveries(&gateway, &endpoint, 1);
    let attempts = deliveries[0]["attempts"].as_array().unwrap();
    assert_eq!(deliveries[0]["status"], "delivered", "{}", deliveries[0]);
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(attempts[0]["status_code"], 429);
    assert!(
        attempts[0]["error"]
            .as_str()
            .is_some_and(|error| error.starts_with("Twilio 20429")),
        "{attempts:?}"
    );

    // A number Twilio refuses: failed at once, its code and words in the attempt.
    let refused = pipeline_endpoint(&gateway, json!([{"kind": "sms", "to": twilio::INVALID_TO}]));
    post_pipeline(&gateway, &refused, "FAILED", 2);
    let deliveries = settled_deliveries(&gateway, &refused, 1);
    assert_eq!(deliveries[0]["status"], "failed");
    let attempts = deliveries[0]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0]["status_code"], 400);
    assert_eq!(
        attempts[0]["error"],
        format!(
            "Twilio 21211: The 'To' number {} is not a valid phone number.",
            twilio::INVALID_TO
        )
    );
}

#[test]
fn a_wrong_twilio_token_fails_at_once_with_20003() {
    let fake = FakeTwilio::start();
    let gateway = TestGateway::start(|config| use_twilio(config, &fake, "not-the-token"));
    let endpoint = pipeline_endpoint(&gateway, json!([{"kind": "voice", "to": ON_CALL}]));
    post_pipeline(&gateway, &endpoint, "FAILED", 1);
    let deliveries = settled_deliveries(&gateway, &endpoint, 1);
    assert_eq!(deliveries[0]["status"], "failed");
    let attempts = deliveries[0]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0]["status_code"], 401);
    assert_eq!(attempts[0]["error"], "Twilio 20003: Authenticate");
    assert!(!fake.calls()[0].authenticated);
}

/// The 422 answer for an endpoint with this one destination.
fn refusal(gateway: &GatewayClient, destination: Value) -> String {
    let (status, answer) = gateway.api(
        "POST",
        "/endpoints",
        Some(json!({"name": "refused", "destinations": [destination]})),
    );
    assert_eq!(status, 422, "{answer}");
    answer["error"].as_str().unwrap().to_string()
}

#[test]
fn destinations_that_cannot_work_are_refused_when_saved() {
    let unconfigured = TestGateway::start(|_| {});
    let error = refusal(&unconfigured, json!({"kind": "sms", "to": ON_CALL}));
    assert!(
        error.starts_with("destinations[0].kind: sms needs [twilio]"),
        "{error}"
    );
    assert!(error.contains("HOOKGATE_TWILIO_AUTH_TOKEN"), "{error}");

    let fake = FakeTwilio::start();
    let gateway = TestGateway::start(|config| {
        use_twilio(config, &fake, twilio::AUTH_TOKEN);
        config.delivery.allow_private_destinations = false;
    });
    for to in [
        json!("5551234567"),
        json!("+1555"),
        json!(15551234567u64),
        Value::Null,
    ] {
        let error = refusal(&gateway, json!({"kind": "voice", "to": to}));
        assert!(error.starts_with("destinations[0].to: "), "{to}: {error}");
        assert!(error.contains("E.164"), "{error}");
    }
    let error = refusal(
        &gateway,
        json!({"kind": "sms", "to": ON_CALL, "url": "https://example.com/"}),
    );
    assert!(error.starts_with("destinations[0].url"), "{error}");
    for url in ["", "ntfy.sh/team-alerts", "ftp://ntfy.sh/x"] {
        let error = refusal(&gateway, json!({"kind": "ntfy", "url": url}));
        assert!(error.starts_with("destinations[0].url"), "{url:?}: {error}");
    }
    let error = refusal(
        &gateway,
        json!({"kind": "ntfy", "url": "http://127.0.0.1:9/alerts"}),
    );
    assert!(error.contains("private address"), "{error}");
    let error = refusal(
        &gateway,
        json!({"kind": "discord", "url": "https://discord.com/api/webhooks/1/x", "token": "t"}),
    );
    assert!(error.starts_with("destinations[0].token"), "{error}");
}

#[test]
fn the_twilio_and_ntfy_tokens_appear_in_no_answer_log_or_notifier_request() {
    let fake = FakeTwilio::start();
    let ntfy = CaptureReceiver::start();
    let folder = tempfile::tempdir().unwrap();
    let mut settings = ChildGatewayConfig::new(crate::hookgate_binary(), folder.path());
    settings.config_toml = Some(format!(
        "{}[twilio]\napi_url = \"{}\"\naccount_sid = \"{}\"\nfrom = \"{}\"\n",
        ChildGatewayConfig::TEST_SETTINGS,
        fake.url,
        twilio::ACCOUNT_SID,
        twilio::FROM
    ));
    settings.rust_log = "debug".into();
    settings.env = vec![(
        "HOOKGATE_TWILIO_AUTH_TOKEN".into(),
        twilio::AUTH_TOKEN.into(),
    )];
    let mut gateway = ChildGateway::start(settings);
    let endpoint = pipeline_endpoint(
        &gateway,
        json!([
            {"kind": "sms", "to": ON_CALL},
            {"kind": "ntfy", "url": format!("{}/team-alerts", ntfy.url), "token": NTFY_TOKEN},
        ]),
    );
    post_pipeline(&gateway, &endpoint, "FAILED", 1);
    let deliveries = settled_deliveries(&gateway, &endpoint, 2);
    assert!(
        deliveries
            .iter()
            .all(|delivery| delivery["status"] == "delivered"),
        "{deliveries:?}"
    );
    // The host did apply both credentials.
    assert!(fake.calls().iter().all(|call| call.authenticated));
    let bearer = format!("Bearer {NTFY_TOKEN}");
    assert_eq!(
        ntfy.captured()[0].header("authorization"),
        Some(bearer.as_str())
    );

    let id = endpoint["id"].as_str().unwrap();
    let (_, dry_run) = gateway.api(
        "POST",
        &format!("/endpoints/{id}/test"),
        Some(
            json!({"event": "repo:commit_status_updated", "body": commit_status_payload("FAILED")}),
        ),
    );
    let requests = dry_run["requests"].as_array().cloned().unwrap_or_default();
    assert_eq!(requests.len(), 2, "{dry_run}");
    let (_, shown) = gateway.api("GET", &format!("/endpoints/{id}"), None);
    assert_eq!(shown["destinations"][1]["token_set"], true, "{shown}");
    let answers = [
        endpoint.to_string(),
        dry_run.to_string(),
        shown.to_string(),
        gateway.api("GET", "/endpoints", None).1.to_string(),
        gateway.api("GET", "/deliveries", None).1.to_string(),
        gateway.api("GET", "/inbound", None).1.to_string(),
        gateway.metrics(),
    ];
    gateway.kill_9();
    let log = gateway.log();
    assert!(log.contains("DEBUG"), "the log is at debug level");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        twilio::ACCOUNT_SID,
        twilio::AUTH_TOKEN
    ));
    for secret in [twilio::AUTH_TOKEN, NTFY_TOKEN, basic.as_str()] {
        for (index, answer) in answers.iter().enumerate() {
            assert!(
                !answer.contains(secret),
                "answer {index} shows {secret}: {answer}"
            );
        }
        assert!(!log.contains(secret), "the log shows {secret}");
    }
}
