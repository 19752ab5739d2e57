//! The seed's scenario with people, end to end over real sockets: a FAILED status on an endpoint
//! with a policy pages whoever its schedule has on call — computed across a daylight-saving
//! change — by email (a real SMTP server) and push; with no acknowledgement, step 2 texts the
//! team lead (a Twilio-shaped fake); the lead's link acknowledges; no page follows; chat hears
//! who acknowledged; the green build closes the alert, chat hears it, the link stops working.
//! Then the same across a `kill -9` of the real binary between step 1 and step 2, and a
//! maintenance window that lets the alert open but pages and tells nobody.

use crate::channels::use_twilio;
use crate::email::use_smtp;
use crate::escalation::{created, only_alert, post_pipeline};
use hookgate_tests::harness::{
    CaptureReceiver, ChildGateway, ChildGatewayConfig, GatewayClient, TestGateway, wait_for,
};
use hookgate_tests::smtp::SmtpServer;
use hookgate_tests::twilio::{self, FakeTwilio};
use jiff::{ToSpan, ZonedDateTime, civil};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;

const LEAD_PHONE: &str = "+15550001111";
const SCHEDULE_ZONE: &str = "America/New_York";

/// A daily rotation of two people in New York, started in July (daylight time) with its
/// handover 30 minutes from now in local time, and the order that puts `on_call` on call now.
///
/// Since the clocks went back on 1 November, the handovers are at the same local time but an
/// hour later in UTC than in July. A schedule computed in fixed 24-hour steps from the July
/// start hands over an hour early, 30 minutes ago, and has the other person on call now.
fn across_daylight_saving(on_call: &str, off_duty: &str) -> Value {
    let handover = ZonedDateTime::now()
        .in_tz(SCHEDULE_ZONE)
        .unwrap()
        .checked_add(30.minutes())
        .unwrap();
    let start = civil::date(2026, 7, 1)
        .to_datetime(handover.time())
        .in_tz(SCHEDULE_ZONE)
        .unwrap();
    // The last handover was yesterday at that time: one a day since July 1st.
    let handovers = handover
        .date()
        .since(civil::date(2026, 7, 1))
        .unwrap()
        .get_days()
        - 1;
    let users = if handovers % 2 == 0 {
        [on_call, off_duty]
    } else {
        [off_duty, on_call]
    };
    json!({
        "name": "primary",
        "time_zone": SCHEDULE_ZONE,
        "layers": [{"name": "daily", "start": start.timestamp().to_string(), "rotation": "1d",
                    "users": users}],
    })
}

/// The directory of the scenario: Ada and Bob share the schedule (Ada on call now), the lead
/// is the team `leads`; step 1 pages the schedule and, `step_delay` later, step 2 the team.
struct People {
    ada: String,
    bob: String,
    lead: String,
    policy: String,
}

fn people(gateway: &GatewayClient, ntfy: &str, step_delay: &str) -> People {
    let person = |name: &str, contacts: Value| {
        created(
            gateway,
            "/users",
            json!({
                "name": name,
                "email": format!("{}@example.com", name.to_lowercase()),
                "role": "responder",
                "contact_methods": contacts,
            }),
        )
    };
    let ada = person(
        "Ada",
        json!([{"kind": "email", "address": "ada@example.com"},
               {"kind": "ntfy", "address": format!("{ntfy}/ada")}]),
    );
    let bob = person(
        "Bob",
        json!([{"kind": "email", "address": "bob@example.com"},
               {"kind": "ntfy", "address": format!("{ntfy}/bob")}]),
    );
    let lead = person("Lead", json!([{"kind": "sms", "address": LEAD_PHONE}]));
    let team = created(
        gateway,
        "/teams",
        json!({"name": "leads", "members": [lead]}),
    );
    let schedule = created(gateway, "/schedules", across_daylight_saving(&ada, &bob));
    let (_, on_call) = gateway.api("GET", &format!("/schedules/{schedule}/oncall"), None);
    assert_eq!(on_call["users"][0]["id"], ada.as_str(), "{on_call}");
    // The next handover is today's, at the local time of July's: 30 minutes from now.
    let until: jiff::Timestamp = on_call["until"].as_str().unwrap().parse().unwrap();
    let ahead = jiff::Timestamp::now().duration_until(until).as_secs();
    assert!((25 * 60..=30 * 60).contains(&ahead), "{on_call}");
    let policy = created(
        gateway,
        "/escalation-policies",
        json!({
            "name": "widgets",
            "steps": [
                {"delay": step_delay, "targets": [{"type": "schedule", "id": schedule}]},
                {"delay": "10m", "targets": [{"type": "team", "id": team}]},
            ],
        }),
    );
    People {
        ada,
        bob,
        lead,
        policy,
    }
}

fn pipeline_endpoint(gateway: &GatewayClient, policy: &str, chat: &str) -> Value {
    gateway.create_endpoint(json!({
        "name": "widgets CI",
        "events": ["repo:commit_status_updated"],
        "alerts": {"plugin": "bitbucket-pipelines"},
        "escalation_policy": policy,
        "destinations": [{"kind": "webhook", "url": format!("{chat}/chat")}],
    }))
}

/// The `type`s of what chat heard, in order.
fn heard(chat: &CaptureReceiver) -> Vec<String> {
    chat.captured()
        .iter()
        .map(|request| request.json()["type"].as_str().unwrap_or("").to_string())
        .collect()
}

/// The texts sent so far.
fn texts(fake: &FakeTwilio) -> Vec<String> {
    fake.calls()
        .into_iter()
        .filter(|call| call.resource == "Messages.json" && call.status == 201)
        .map(|call| call.field("Body").to_string())
        .collect()
}

/// The acknowledge link in a page's text.
fn ack_link(text: &str) -> String {
    text.lines()
        .find_map(|line| line.strip_prefix("Acknowledge: "))
        .unwrap_or_else(|| panic!("no acknowledge link in {text:?}"))
        .to_string()
}

#[test]
fn the_on_call_person_is_paged_then_the_lead_whose_link_stops_it_and_chat_hears_each_change() {
    let fake = FakeTwilio::start();
    let smtp = SmtpServer::start();
    let gateway = TestGateway::start(|config| {
        use_twilio(config, &fake, twilio::AUTH_TOKEN);
        use_smtp(config, &smtp);
    });
    let ntfy = CaptureReceiver::start();
    let chat = CaptureReceiver::start();
    let people = people(&gateway, &ntfy.url, "2s");
    let endpoint = pipeline_endpoint(&gateway, &people.policy, &chat.url);

    post_pipeline(&gateway, &endpoint, "FAILED", 1);
    // Step 1: Ada, on call across the clock change, by email and push; never Bob.
    let mails = smtp.wait_for_messages(1);
    assert_eq!(mails[0].rcpt_tos, vec!["ada@example.com".to_string()]);
    assert!(mails[0].subject().contains("Pipeline #4 for main failed"));
    let text = mails[0].part("text/plain").expect("a text part");
    assert!(text.contains("/a/"), "no acknowledge link: {text}");
    let pushes = ntfy.wait_for_requests(1);
    assert_eq!(pushes[0].path, "/ada");

    // Step 2, its delay later with nobody acknowledging: the lead's text, with their link.
    let mut sent = Vec::new();
    wait_for("the lead's text", Duration::from_secs(30), || {
        sent = texts(&fake);
        !sent.is_empty()
    });
    assert!(sent[0].contains("Pipeline #4 for main failed"), "{sent:?}");
    let link = ack_link(&sent[0]);
    assert!(link.starts_with(&gateway.url), "{link}");

    let client = reqwest::blocking::Client::new();
    let page = client.get(&link).send().unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().unwrap();
    assert!(
        page.contains("Lead") && page.contains("Acknowledge"),
        "{page}"
    );
    let acted = client
        .post(&link)
        .form(&[("action", "acknowledge")])
        .send()
        .unwrap();
    assert_eq!(acted.status(), 200);

    let alert = only_alert(&gateway);
    assert_eq!(alert["state"], "acknowledged");
    assert_eq!(alert["acknowledged_by"], people.lead.as_str());
    assert_eq!(alert["escalation"]["next_due_at"], Value::Null);
    wait_for(
        "chat to hear the acknowledgement",
        Duration::from_secs(30),
        || heard(&chat).contains(&"alert.acknowledged".to_string()),
    );
    let acknowledged = chat
        .captured()
        .into_iter()
        .map(|request| request.json())
        .find(|notice| notice["type"] == "alert.acknowledged")
        .unwrap();
    assert_eq!(
        acknowledged["alert"]["acknowledged_by"], "Lead",
        "{acknowledged}"
    );

    // Nothing is paged after the acknowledgement.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(smtp.messages().len(), 1, "a mail after the acknowledgement");
    assert_eq!(ntfy.captured().len(), 1, "a push after the acknowledgement");
    assert_eq!(texts(&fake).len(), 1, "a text after the acknowledgement");

    // The escalation log: Ada's two pages at step 1, the lead's at step 2, each a delivery.
    let id = alert["id"].as_str().unwrap();
    let (_, shown) = gateway.api("GET", &format!("/alerts/{id}"), None);
    let log = shown["escalation"]["log"].as_array().unwrap();
    let pages: Vec<(u64, &str, &str)> = log
        .iter()
        .map(|page| {
            (
                page["step"].as_u64().unwrap(),
                page["user"].as_str().unwrap(),
                page["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pages,
        vec![
            (1, people.ada.as_str(), "email"),
            (1, people.ada.as_str(), "ntfy"),
            (2, people.lead.as_str(), "sms"),
        ],
        "{shown}"
    );
    assert!(
        log.iter().all(|page| page["delivery"].is_string()),
        "{shown}"
    );
    assert!(
        !shown.to_string().contains(&people.bob),
        "Bob was paged: {shown}"
    );

    // The green build closes it; chat hears it; the link no longer works.
    post_pipeline(&gateway, &endpoint, "SUCCESSFUL", 2);
    wait_for("chat to hear the close", Duration::from_secs(30), || {
        heard(&chat).contains(&"alert.closed".to_string())
    });
    assert_eq!(
        heard(&chat),
        [
            "alert.opened",
            "alert.escalated",
            "alert.acknowledged",
            "alert.closed"
        ]
    );
    let late = client
        .post(&link)
        .form(&[("action", "acknowledge")])
        .send()
        .unwrap();
    assert_eq!(late.status(), 409);
}

#[test]
fn a_kill_9_between_steps_neither_skips_nor_repeats_one() {
    let fake = FakeTwilio::start();
    let smtp = SmtpServer::start();
    let ntfy = CaptureReceiver::start();
    let chat = CaptureReceiver::start();
    let work = tempfile::tempdir().unwrap();
    let mut config = ChildGatewayConfig::new(crate::hookgate_binary(), work.path());
    let public_url = format!("http://{}", config.listen);
    config.config_toml = Some(format!(
        "public_url = \"{public_url}\"\n{}\
         [smtp]\nurl = \"{}\"\nfrom = \"hookgate <alerts@example.com>\"\n\
         [twilio]\napi_url = \"{}\"\naccount_sid = \"{}\"\nfrom = \"{}\"\n",
        ChildGatewayConfig::TEST_SETTINGS,
        smtp.url(),
        fake.url,
        twilio::ACCOUNT_SID,
        twilio::FROM,
    ));
    config.env.push((
        "HOOKGATE_TWILIO_AUTH_TOKEN".into(),
        twilio::AUTH_TOKEN.into(),
    ));
    let mut gateway = ChildGateway::start(config);
    let people = people(&gateway, &ntfy.url, "6s");
    let endpoint = pipeline_endpoint(&gateway, &people.policy, &chat.url);

    post_pipeline(&gateway, &endpoint, "FAILED", 1);
    smtp.wait_for_messages(1);
    ntfy.wait_for_requests(1);
    // Step 1 is out; step 2 is 6 s away. The gateway dies and stays down past it.
    gateway.kill_9();
    std::thread::sleep(Duration::from_secs(7));
    assert!(
        texts(&fake).is_empty(),
        "step 2 fired while the gateway was down"
    );
    gateway.restart();

    // The step that fell due while down fires at start, once; step 1 is not paged again.
    let mut sent = Vec::new();
    wait_for(
        "the lead's text after the restart",
        Duration::from_secs(30),
        || {
            sent = texts(&fake);
            !sent.is_empty()
        },
    );
    // Counted by delivery: the kill may land between a send and its record, and then the same
    // delivery is sent again (at least once, with the same Message-ID or Idempotency-Key); a
    // step fired again would be new deliveries.
    std::thread::sleep(Duration::from_secs(3));
    let distinct = |ids: Vec<Option<String>>| ids.into_iter().collect::<HashSet<_>>().len();
    let texted = fake
        .calls()
        .into_iter()
        .filter(|call| call.resource == "Messages.json");
    assert_eq!(
        distinct(texted.map(|call| call.idempotency_key).collect()),
        1,
        "step 2 fired twice"
    );
    let mailed = smtp
        .messages()
        .iter()
        .map(|mail| mail.header("X-Hookgate-Delivery"))
        .collect();
    assert_eq!(distinct(mailed), 1, "step 1 was paged again");
    let pushed = ntfy
        .captured()
        .iter()
        .map(|push| push.header("idempotency-key").map(str::to_string))
        .collect();
    assert_eq!(distinct(pushed), 1, "step 1 was paged again");

    let alert = only_alert(&gateway);
    let id = alert["id"].as_str().unwrap();
    let (_, shown) = gateway.api("GET", &format!("/alerts/{id}"), None);
    let steps: Vec<u64> = shown["escalation"]["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|page| page["step"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, [1, 1, 2], "{shown}");

    // The lead's link still acknowledges after the restart, and chat hears who.
    let acted = reqwest::blocking::Client::new()
        .post(ack_link(&sent[0]))
        .form(&[("action", "acknowledge")])
        .send()
        .unwrap();
    assert_eq!(acted.status(), 200);
    let (_, shown) = gateway.api("GET", &format!("/alerts/{id}"), None);
    assert_eq!(shown["acknowledged_by"], people.lead.as_str());
    wait_for(
        "chat to hear the acknowledgement",
        Duration::from_secs(30),
        || heard(&chat).contains(&"alert.acknowledged".to_string()),
    );
}

#[test]
fn a_maintenance_window_lets_alerts_open_and_close_but_pages_and_tells_nobody() {
    let gateway = TestGateway::start(|_| {});
    let ntfy = CaptureReceiver::start();
    let chat = CaptureReceiver::start();
    let pager = created(
        &gateway,
        "/users",
        json!({"name": "Ada", "email": "ada@example.com", "role": "responder",
               "contact_methods": [{"kind": "ntfy", "address": format!("{}/ada", ntfy.url)}]}),
    );
    let policy = created(
        &gateway,
        "/escalation-policies",
        json!({"name": "widgets",
               "steps": [{"delay": "1s", "targets": [{"type": "user", "id": pager}]}]}),
    );
    let endpoint = pipeline_endpoint(&gateway, &policy, &chat.url);
    let now = jiff::Timestamp::now();
    let window = created(
        &gateway,
        "/maintenance-windows",
        json!({
            "start": (now - 1.hour()).to_string(),
            "end": (now + 1.hour()).to_string(),
            "endpoint": endpoint["id"],
            "key_pattern": "testrepo:main$",
        }),
    );

    post_pipeline(&gateway, &endpoint, "FAILED", 1);
    let alert = only_alert(&gateway);
    assert_eq!(alert["state"], "open");
    assert_eq!(alert["escalation"], Value::Null, "{alert}");
    let (_, records) = gateway.api("GET", "/inbound", None);
    let outcomes: Vec<(String, Value)> = records["items"][0]["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|outcome| {
            (
                outcome["outcome"].as_str().unwrap().to_string(),
                outcome["detail"].clone(),
            )
        })
        .collect();
    assert!(
        outcomes.contains(&("Mapped Opened".into(), alert["key"].clone())),
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains(&("Silenced".into(), json!(window))),
        "{outcomes:?}"
    );

    post_pipeline(&gateway, &endpoint, "SUCCESSFUL", 2);
    wait_for("the alert to close", Duration::from_secs(30), || {
        let (_, shown) = gateway.api(
            "GET",
            &format!("/alerts/{}", alert["id"].as_str().unwrap()),
            None,
        );
        shown["state"] == "closed"
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(ntfy.captured().is_empty(), "paged during maintenance");
    assert!(
        chat.captured().is_empty(),
        "chat told during maintenance: {:?}",
        heard(&chat)
    );

    // Once the window is gone, the next failure pages and tells chat again.
    let (status, _) = gateway.api("DELETE", &format!("/maintenance-windows/{window}"), None);
    assert_eq!(status, 200);
    post_pipeline(&gateway, &endpoint, "FAILED", 3);
    ntfy.wait_for_requests(1);
    chat.wait_for_requests(1);
}
