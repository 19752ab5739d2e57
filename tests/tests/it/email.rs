//! Email over a real SMTP server (aiosmtpd, `hookgate_tests::smtp`): what a mail carries (the
//! host's sender, the planned `Message-ID`, threading, both parts), the relay's verdicts (4xx
//! and broken transactions retried, 5xx failed at once, the reply in the attempt log),
//! recipients the destination does not name refused, destinations that cannot work refused when
//! saved, and the SMTP password in no log line or answer.
//!
//! The carrier tests run the gateway's own outbox worker on a store of their own, with mail
//! deliveries written into it as the planner writes them;
//! `channels` has the test where the built-in notifier shapes the mail from a webhook.

use hookgate::config::{GatewayConfig, SecretText, SmtpConfig};
use hookgate::delivery::{Delivering, DeliverySettings, Mailer, Outbox};
use hookgate::metrics::{Metrics, ScrapedGauges};
use hookgate::store::redb::RedbStore;
use hookgate::store::{
    DeliveryRecord, DeliveryRequest, DeliveryStatus, Durability, EmailRequest, EndpointRecord,
    IdKind, ProcessedBatch, SharedStore,
};
use hookgate_tests::harness::{
    ChildGateway, ChildGatewayConfig, GatewayClient, TestGateway, wait_for,
};
use hookgate_tests::smtp::{
    SMTP_PASSWORD, SMTP_USERNAME, SmtpFault, SmtpServer, SmtpServerOptions, Times,
};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const FROM: &str = "hookgate <alerts@example.com>";
const OPS: &str = "ops@example.com";
const ON_CALL: &str = "oncall@example.com";

/// `[smtp]` pointing at `server`, without a login.
pub(crate) fn use_smtp(config: &mut GatewayConfig, server: &SmtpServer) {
    config.smtp.url = Some(server.url());
    config.smtp.from = Some(FROM.into());
}

/// The gateway's outbox worker on a store of its own, with one endpoint whose destination 0 is
/// an `email` destination to [`OPS`] and [`ON_CALL`].
struct MailOutbox {
    store: SharedStore,
    outbox: Arc<Outbox>,
    metrics: Arc<Metrics>,
    _runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

impl MailOutbox {
    /// With `[smtp]` as `smtp` says (`None`: not configured), retries after 100 ms and 200 ms.
    fn start(smtp: Option<SmtpConfig>, disable_after_failures: u32) -> Self {
        hookgate::install_tls_provider();
        let dir = tempfile::tempdir().unwrap();
        let store: SharedStore =
            Arc::new(RedbStore::open(&dir.path().join("hookgate.redb")).unwrap());
        let endpoint: EndpointRecord = serde_json::from_value(json!({
            "id": "ep_mail", "name": "mail", "provider": "bitbucket", "selection": "all",
            "events": [], "secret": null, "enabled": true, "alerts": null, "format": null,
            "destinations": [{"kind": "email", "to": [OPS, format!("On call <{ON_CALL}>")]}],
            "created_at": 0,
        }))
        .unwrap();
        store.save_endpoint(&endpoint).unwrap();
        let mut config = GatewayConfig::default();
        config.delivery.retry_schedule = vec!["100ms".into(), "200ms".into()];
        config.delivery.timeout_secs = 5;
        config.delivery.allow_private_destinations = true;
        config.delivery.disable_after_failures = disable_after_failures;
        if let Some(smtp) = smtp {
            config.smtp = smtp;
        }
        let config = config.validate().unwrap();
        let outbox = Arc::new(Outbox::default());
        let metrics = Arc::new(Metrics::default());
        let delivering = Delivering {
            store: store.clone(),
            metrics: metrics.clone(),
            outbox: outbox.clone(),
            settings: DeliverySettings::from_config(&config),
            client: hookgate::delivery::client(&config),
            mailer: config.smtp.as_ref().map(|smtp| Mailer::new(smtp).unwrap()),
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.spawn(delivering.run());
        Self {
            store,
            outbox,
            metrics,
            _runtime: runtime,
            _dir: dir,
        }
    }

    /// Stores a mail delivery as the planner would and wakes the outbox; returns its id.
    fn send(&self, mail: EmailRequest) -> u64 {
        let id = self.store.reserve_ids(IdKind::Delivery, 1).unwrap();
        let now = hookgate::store::now_ms();
        let delivery = DeliveryRecord {
            id,
            endpoint: "ep_mail".into(),
            inbound_id: None,
            destination: 0,
            kind: "email".into(),
            notification: "alert.opened".into(),
            status: DeliveryStatus::Pending,
            request: DeliveryRequest::Email(mail),
            attempts: Vec::new(),
            next_attempt_at: Some(now),
            created_at: now,
            alert: None,
            page: None,
        };
        let batch = ProcessedBatch {
            deliveries: vec![delivery],
            ..ProcessedBatch::default()
        };
        self.store
            .apply_processing(&batch, Durability::BeforeAnswer)
            .unwrap();
        self.outbox.wake();
        id
    }

    /// The delivery once it is delivered or failed.
    fn settled(&self, id: u64) -> DeliveryRecord {
        let mut delivery = None;
        wait_for(
            "the mail delivery to settle",
            Duration::from_secs(60),
            || {
                delivery = self.store.delivery(id).unwrap();
                delivery.as_ref().is_some_and(|delivery| {
                    matches!(
                        delivery.status,
                        DeliveryStatus::Delivered | DeliveryStatus::Failed
                    )
                })
            },
        );
        delivery.unwrap()
    }

    fn metrics(&self) -> String {
        self.metrics.render(ScrapedGauges::default())
    }
}

fn smtp_config(server: &SmtpServer) -> SmtpConfig {
    SmtpConfig {
        url: Some(server.url()),
        from: Some(FROM.into()),
        ..SmtpConfig::default()
    }
}

fn mail(to: &[&str], key: &str, in_reply_to: Option<&str>) -> EmailRequest {
    EmailRequest {
        to: to.iter().map(ToString::to_string).collect(),
        subject: "[hookgate] Pipeline #4 for main failed — automationtestharness/testrepo".into(),
        text: "Pipeline #4 for main failed.\nStatus FAILED".into(),
        html: Some("<p>Pipeline #4 for <b>main</b> failed.</p>".into()),
        message_key: key.into(),
        in_reply_to_key: in_reply_to.map(str::to_string),
    }
}

fn attempt_codes(delivery: &DeliveryRecord) -> Vec<Option<u16>> {
    delivery
        .attempts
        .iter()
        .map(|attempt| attempt.status_code)
        .collect()
}

#[test]
fn a_mail_has_the_hosts_sender_its_recipients_both_parts_and_the_planned_id() {
    let server = SmtpServer::start();
    let outbox = MailOutbox::start(Some(smtp_config(&server)), 0);
    let id = outbox.send(mail(&[OPS, ON_CALL], "hookgate.al_1.ep_mail.d0", None));
    let delivery = outbox.settled(id);
    assert_eq!(delivery.status, DeliveryStatus::Delivered, "{delivery:?}");
    assert_eq!(attempt_codes(&delivery), [Some(250)]);
    assert_eq!(
        delivery.attempts[0].response.as_deref(),
        Some("250 2.0.0 Ok: queued as hookgate-test")
    );
    assert_eq!(delivery.attempts[0].error, None);

    let messages = server.wait_for_messages(1);
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert_eq!(message.mail_from, "alerts@example.com");
    assert_eq!(message.rcpt_tos, [OPS, ON_CALL]);
    assert_eq!(message.from(), [FROM]);
    assert_eq!(message.to(), [OPS, ON_CALL]);
    assert_eq!(
        message.subject(),
        "[hookgate] Pipeline #4 for main failed — automationtestharness/testrepo"
    );
    assert_eq!(
        message.message_id().as_deref(),
        Some("<hookgate.al_1.ep_mail.d0@example.com>")
    );
    assert!(message.in_reply_to().is_empty());
    let delivery_id = hookgate::ids::format_delivery_id(id);
    assert_eq!(message.header("X-Hookgate-Delivery"), Some(delivery_id));
    assert!(message.header("Date").is_some());
    assert_eq!(message.content_type(), "multipart/alternative");
    assert_eq!(
        message.part("text/plain").as_deref().map(str::trim_end),
        Some("Pipeline #4 for main failed.\nStatus FAILED")
    );
    assert_eq!(
        message.part("text/html").as_deref().map(str::trim_end),
        Some("<p>Pipeline #4 for <b>main</b> failed.</p>")
    );
    assert!(
        outbox
            .metrics()
            .contains("hookgate_email_deliveries_total{outcome=\"delivered\"} 1"),
        "{}",
        outbox.metrics()
    );
}

#[test]
fn a_later_notice_replies_to_the_mail_that_opened_the_alert() {
    let server = SmtpServer::start();
    let outbox = MailOutbox::start(Some(smtp_config(&server)), 0);
    let opening = outbox.send(mail(&[OPS], "hookgate.al_9.ep_mail.d0", None));
    assert_eq!(outbox.settled(opening).status, DeliveryStatus::Delivered);
    let mut resolved = mail(&[OPS], "hookgate.dl_99", Some("hookgate.al_9.ep_mail.d0"));
    resolved.html = None;
    let closing = outbox.send(resolved);
    assert_eq!(outbox.settled(closing).status, DeliveryStatus::Delivered);
    let messages = server.wait_for_messages(2);
    let first_id = messages[0].message_id().expect("a Message-ID");
    assert_eq!(messages[1].in_reply_to(), std::slice::from_ref(&first_id));
    assert_eq!(messages[1].references(), [first_id]);
    assert_eq!(
        messages[1].message_id().as_deref(),
        Some("<hookgate.dl_99@example.com>")
    );
    // Without HTML the mail is plain text.
    assert_eq!(messages[1].content_type(), "text/plain");
    assert_eq!(messages[1].part("text/html"), None);
}

#[test]
fn a_451_is_retried_and_the_reply_is_in_the_attempt_log() {
    let server = SmtpServer::start_with(SmtpServerOptions {
        faults: vec![(SmtpFault::TempfailData, Times::Next(1))],
        ..SmtpServerOptions::default()
    });
    let outbox = MailOutbox::start(Some(smtp_config(&server)), 0);
    let delivery = outbox.settled(outbox.send(mail(&[OPS], "hookgate.dl_1", None)));
    assert_eq!(delivery.status, DeliveryStatus::Delivered, "{delivery:?}");
    assert_eq!(attempt_codes(&delivery), [Some(451), Some(250)]);
    let first = &delivery.attempts[0];
    assert_eq!(first.error.as_deref(), Some("451 4.3.0 try again later"));
    assert_eq!(first.response.as_deref(), Some("451 4.3.0 try again later"));
    assert_eq!(server.messages().len(), 1);
    let metrics = outbox.metrics();
    assert!(
        metrics.contains("hookgate_email_deliveries_total{outcome=\"retrying\"} 1"),
        "{metrics}"
    );
}

#[test]
fn a_550_fails_at_once_at_rcpt_or_data() {
    for fault in [SmtpFault::RejectRcpt, SmtpFault::RejectData] {
        let server = SmtpServer::start_with(SmtpServerOptions {
            faults: vec![(fault, Times::Always)],
            ..SmtpServerOptions::default()
        });
        let outbox = MailOutbox::start(Some(smtp_config(&server)), 0);
        let delivery = outbox.settled(outbox.send(mail(&[OPS], "hookgate.dl_1", None)));
        assert_eq!(
            delivery.status,
            DeliveryStatus::Failed,
            "{fault:?}: {delivery:?}"
        );
        assert_eq!(attempt_codes(&delivery), [Some(550)], "{fault:?}");
        assert_eq!(
            delivery.attempts[0].error.as_deref(),
            Some("550 5.1.1 no such user"),
            "{fault:?}"
        );
        assert!(server.messages().is_empty());
        assert!(
            outbox
                .metrics()
                .contains("hookgate_email_deliveries_total{outcome=\"failed\"} 1")
        );
    }
}

#[test]
fn a_connection_dropped_mid_transaction_is_retried_then_delivered() {
    let server = SmtpServer::start();
    let outbox = MailOutbox::start(Some(smtp_config(&server)), 0);
    // Switched while the server runs: the first mail's connection is dropped after its data.
    server.set_fault(SmtpFault::DropData, Times::Next(1));
    let delivery = outbox.settled(outbox.send(mail(&[OPS], "hookgate.dl_1", None)));
    assert_eq!(delivery.status, DeliveryStatus::Delivered, "{delivery:?}");
    assert_eq!(attempt_codes(&delivery), [None, Some(250)]);
    assert!(
        delivery.attempts[0]
            .error
            .as_deref()
            .is_some_and(|error| error.contains("smtp://127.0.0.1")),
        "{:?}",
        delivery.attempts[0]
    );
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn a_relay_that_refuses_connections_or_never_answers_is_retried_on_the_schedule() {
    // Nothing listens: connection refused, three attempts, then failed.
    let closed = hookgate_tests::harness::free_address();
    let outbox = MailOutbox::start(
        Some(SmtpConfig {
            url: Some(format!("smtp://{closed}")),
            from: Some(FROM.into()),
            ..SmtpConfig::default()
        }),
        0,
    );
    let delivery = outbox.settled(outbox.send(mail(&[OPS], "hookgate.dl_1", None)));
    assert_eq!(delivery.status, DeliveryStatus::Failed);
    assert_eq!(attempt_codes(&delivery), [None, None, None]);

    // A relay that takes the connection and never greets: each attempt times out.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let outbox = MailOutbox::start(
        Some(SmtpConfig {
            url: Some(format!("smtp://{}", silent.local_addr().unwrap())),
            from: Some(FROM.into()),
            timeout: Some("300ms".into()),
            ..SmtpConfig::default()
        }),
        0,
    );
    let delivery = outbox.settled(outbox.send(mail(&[OPS], "hookgate.dl_2", None)));
    assert_eq!(delivery.status, DeliveryStatus::Failed);
    assert_eq!(delivery.attempts.len(), 3, "{delivery:?}");
    assert!(
        delivery.attempts[0]
            .error
            .as_deref()
            .is_some_and(|error| error.starts_with("timeout after 300ms")),
        "{:?}",
        delivery.attempts[0]
    );
}

#[test]
fn recipients_the_destination_does_not_name_are_not_mailed() {
    let server = SmtpServer::start();
    let outbox = MailOutbox::start(Some(smtp_config(&server)), 0);
    let delivery =
        outbox.settled(outbox.send(mail(&[OPS, "attacker@example.net"], "hookgate.dl_1", None)));
    assert_eq!(delivery.status, DeliveryStatus::Failed);
    assert_eq!(delivery.attempts.len(), 1);
    let error = delivery.attempts[0].error.as_deref().unwrap_or_default();
    assert_eq!(
        error,
        "recipient attacker@example.net is not one the destination names; not sent"
    );
    // The allowed recipient is not mailed alone either: the mail is refused whole.
    std::thread::sleep(Duration::from_millis(200));
    assert!(server.messages().is_empty());
}

#[test]
fn without_smtp_a_mail_fails_naming_the_section() {
    let outbox = MailOutbox::start(None, 0);
    let delivery = outbox.settled(outbox.send(mail(&[OPS], "hookgate.dl_1", None)));
    assert_eq!(delivery.status, DeliveryStatus::Failed);
    assert_eq!(delivery.attempts.len(), 1);
    let error = delivery.attempts[0].error.as_deref().unwrap_or_default();
    assert!(error.contains("[smtp]"), "{error}");
}

#[test]
fn a_relay_refusing_mail_disables_the_destination_as_for_http() {
    let server = SmtpServer::start_with(SmtpServerOptions {
        faults: vec![(SmtpFault::RejectRcpt, Times::Always)],
        ..SmtpServerOptions::default()
    });
    let outbox = MailOutbox::start(Some(smtp_config(&server)), 2);
    for key in ["hookgate.dl_1", "hookgate.dl_2"] {
        let delivery = outbox.settled(outbox.send(mail(&[OPS], key, None)));
        assert_eq!(attempt_codes(&delivery), [Some(550)]);
    }
    let health = outbox.store.destination_health("ep_mail", 0).unwrap();
    assert!(health.is_disabled(), "{health:?}");
    let held = outbox.settled(outbox.send(mail(&[OPS], "hookgate.dl_3", None)));
    assert_eq!(attempt_codes(&held), [None]);
    assert!(
        held.attempts[0]
            .error
            .as_deref()
            .is_some_and(|error| error.starts_with("destination disabled")),
        "{held:?}"
    );
}

#[test]
fn the_relay_login_is_applied_by_the_host() {
    let server = SmtpServer::start_with(SmtpServerOptions {
        login: true,
        ..SmtpServerOptions::default()
    });
    let with_login = |password: &str| SmtpConfig {
        username: Some(SMTP_USERNAME.into()),
        password: Some(SecretText::new(password)),
        ..smtp_config(&server)
    };
    let outbox = MailOutbox::start(Some(with_login(SMTP_PASSWORD)), 0);
    let delivery = outbox.settled(outbox.send(mail(&[OPS], "hookgate.dl_1", None)));
    assert_eq!(delivery.status, DeliveryStatus::Delivered, "{delivery:?}");
    assert_eq!(server.messages()[0].login.as_deref(), Some(SMTP_USERNAME));

    let outbox = MailOutbox::start(Some(with_login("not-the-password")), 0);
    let delivery = outbox.settled(outbox.send(mail(&[OPS], "hookgate.dl_2", None)));
    assert_eq!(delivery.status, DeliveryStatus::Failed, "{delivery:?}");
    assert_eq!(attempt_codes(&delivery), [Some(535)], "{delivery:?}");
    let shown = format!("{delivery:?}");
    assert!(!shown.contains("not-the-password") && !shown.contains(SMTP_PASSWORD));
}

/// The 422 answer for an endpoint with this one destination.
fn refusal(gateway: &GatewayClient, destination: Value) -> String {
    let (status, answer) = gateway.api(
        "POST",
        "/endpoints",
        Some(json!({"name": "refused", "destinations": [destination]})),
    );
    assert_eq!(status, 422, "{destination}: {answer}");
    answer["error"].as_str().unwrap().to_string()
}

#[test]
fn email_destinations_that_cannot_work_are_refused_when_saved() {
    let unconfigured = TestGateway::start(|_| {});
    let error = refusal(&unconfigured, json!({"kind": "email", "to": [OPS]}));
    assert!(
        error.starts_with("destinations[0].kind: email needs [smtp]"),
        "{error}"
    );
    assert!(error.contains("HOOKGATE_SMTP_PASSWORD"), "{error}");

    let server = SmtpServer::start();
    let gateway = TestGateway::start(|config| use_smtp(config, &server));
    for to in [
        Value::Null,
        json!([]),
        json!("ops"),
        json!(["ops@example.com", "ops@"]),
        json!([OPS, 7]),
        json!(42),
    ] {
        let mut destination = json!({"kind": "email"});
        if !to.is_null() {
            destination["to"] = to.clone();
        }
        let error = refusal(&gateway, destination);
        assert!(error.starts_with("destinations[0].to: "), "{to}: {error}");
    }
    let error = refusal(
        &gateway,
        json!({"kind": "email", "to": OPS, "url": "https://example.com/"}),
    );
    assert!(error.starts_with("destinations[0].url: "), "{error}");
    let error = refusal(&gateway, json!({"kind": "email", "to": OPS, "token": "t"}));
    assert!(error.starts_with("destinations[0].token: "), "{error}");
    // The second of two destinations is named by its index.
    let (status, answer) = gateway.api(
        "POST",
        "/endpoints",
        Some(json!({"name": "two", "destinations": [
            {"kind": "email", "to": OPS},
            {"kind": "email", "to": "nobody"},
        ]})),
    );
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|error| error.starts_with("destinations[1].to: ")),
        "{answer}"
    );
    // And a good one is saved.
    let (status, answer) = gateway.api(
        "POST",
        "/endpoints",
        Some(json!({"name": "mail", "destinations": [{"kind": "email", "to": [OPS, ON_CALL]}]})),
    );
    assert_eq!(status, 201, "{answer}");
}

#[test]
fn an_smtp_section_that_cannot_work_stops_the_start_naming_the_key() {
    let folder = tempfile::tempdir().unwrap();
    for (section, key) in [
        ("url = \"smtp://127.0.0.1:2525\"\n", "smtp.from"),
        (
            "url = \"http://127.0.0.1:2525\"\nfrom = \"a@example.com\"\n",
            "smtp.url",
        ),
        (
            "url = \"smtp://127.0.0.1:2525\"\nfrom = \"not a mailbox\"\n",
            "smtp.from",
        ),
        (
            "url = \"smtp://127.0.0.1:2525\"\nfrom = \"a@example.com\"\nusername = \"u\"\n",
            "smtp.password",
        ),
    ] {
        let mut settings = ChildGatewayConfig::new(crate::hookgate_binary(), folder.path());
        settings.config_toml = Some(format!(
            "{}[smtp]\n{section}",
            ChildGatewayConfig::TEST_SETTINGS
        ));
        let _ = std::fs::remove_file(&settings.log);
        let (status, log) = settings.run_to_exit(Duration::from_secs(60));
        assert!(!status.success(), "{section}");
        assert!(
            log.contains(&format!("invalid configuration `{key}`")),
            "{section}: {log}"
        );
    }
}

#[test]
fn the_smtp_password_appears_in_no_log_line_or_answer() {
    let server = SmtpServer::start_with(SmtpServerOptions {
        login: true,
        ..SmtpServerOptions::default()
    });
    let folder = tempfile::tempdir().unwrap();
    let mut settings = ChildGatewayConfig::new(crate::hookgate_binary(), folder.path());
    settings.config_toml = Some(format!(
        "{}[smtp]\nurl = \"{}\"\nfrom = \"{FROM}\"\nusername = \"{SMTP_USERNAME}\"\n",
        ChildGatewayConfig::TEST_SETTINGS,
        server.url(),
    ));
    settings.rust_log = "debug".into();
    settings.env = vec![("HOOKGATE_SMTP_PASSWORD".into(), SMTP_PASSWORD.into())];
    let mut gateway = ChildGateway::start(settings);
    let (status, endpoint) = gateway.api(
        "POST",
        "/endpoints",
        Some(json!({"name": "mail", "destinations": [{"kind": "email", "to": OPS}]})),
    );
    assert_eq!(status, 201, "{endpoint}");
    let id = endpoint["id"].as_str().unwrap();
    let answers = [
        endpoint.to_string(),
        gateway
            .api("GET", &format!("/endpoints/{id}"), None)
            .1
            .to_string(),
        gateway.api("GET", "/endpoints", None).1.to_string(),
        gateway.api("GET", "/deliveries", None).1.to_string(),
        gateway.metrics(),
    ];
    gateway.kill_9();
    let log = gateway.log();
    assert!(log.contains("DEBUG"), "the log is at debug level");
    assert!(
        log.contains("email destinations are sent through [smtp]"),
        "the mailer is described in the log: {log}"
    );
    for (index, answer) in answers.iter().enumerate() {
        assert!(
            !answer.contains(SMTP_PASSWORD),
            "answer {index} shows the password"
        );
    }
    assert!(
        !log.contains(SMTP_PASSWORD),
        "the log shows the SMTP password"
    );
}
