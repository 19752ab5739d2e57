use super::*;
use crate::tests::{acknowledged, context, destination, escalated, message, notice};
use hookgate_plugin_sdk::AlertState;

fn mailed(notification: &Notification, config: Value) -> Email {
    let mut destination = destination("email", config);
    destination.url.clear();
    let outputs = crate::HttpNotifier::notify(notification, &context(), &destination).unwrap();
    let [Outbound::Email(email)] = &outputs[..] else {
        panic!("one mail: {outputs:?}");
    };
    email.clone()
}

fn to_ops() -> Value {
    json!({"to": ["ops@example.com", "lead@example.com"]})
}

#[test]
fn an_opened_alert_is_a_mail_with_its_facts_in_both_parts() {
    let email = mailed(
        &Notification::AlertOpened(notice(AlertState::Open)),
        to_ops(),
    );
    assert_eq!(email.to, ["ops@example.com", "lead@example.com"]);
    assert_eq!(
        email.subject,
        "[hookgate] Pipeline #4 for main failed — acme/widgets"
    );
    assert_eq!(
        email.text,
        "Pipeline #4 for main failed — acme/widgets\n\
         \n\
         State: open\n\
         Status: FAILED\n\
         Severity: critical\n\
         Count: 3\n\
         Link: https://bitbucket.org/acme/widgets/pipelines/results/4\n\
         Commit: bdf6fac Merged in fix\n\
         Actor: Ada\n\
         Opened: 2023-11-14T22:13:20Z\n\
         branch: main\n\
         \n\
         Sent by hookgate for widgets CI.\n"
    );
    let html = email.html.expect("an HTML part");
    for expected in [
        "<h2 style=\"border-left: 6px solid #E74C3C; padding-left: 8px\">Pipeline #4 for main failed — acme/widgets</h2>",
        "<tr><th align=\"left\" valign=\"top\">Severity</th><td>critical</td></tr>",
        "<tr><th align=\"left\" valign=\"top\">Count</th><td>3</td></tr>",
        "<a href=\"https://bitbucket.org/acme/widgets/pipelines/results/4\">https://bitbucket.org/acme/widgets/pipelines/results/4</a>",
        "<td>bdf6fac Merged in fix</td>",
        "<td>Ada</td>",
        "<th align=\"left\" valign=\"top\">branch</th><td>main</td>",
        "Sent by hookgate for widgets CI.",
    ] {
        assert!(html.contains(expected), "{expected} in {html}");
    }
}

#[test]
fn each_notice_says_what_happened_in_its_subject() {
    let subject = |notification: Notification| mailed(&notification, to_ops()).subject;
    assert_eq!(
        subject(Notification::AlertClosed(notice(AlertState::Closed))),
        "[hookgate] Resolved: Pipeline #4 for main failed — acme/widgets"
    );
    assert_eq!(
        subject(Notification::AlertAcknowledged(acknowledged())),
        "[hookgate] Acknowledged: Pipeline #4 for main failed — acme/widgets"
    );
    assert_eq!(
        subject(Notification::AlertEscalated(escalated())),
        "[hookgate] Escalated: Pipeline #4 for main failed — acme/widgets"
    );
}

#[test]
fn a_page_names_who_acknowledged_or_the_step_and_carries_the_ack_link() {
    let email = mailed(&Notification::AlertAcknowledged(acknowledged()), to_ops());
    assert!(
        email.text.starts_with(
            "Acknowledged: Pipeline #4 for main failed — acme/widgets\nAcknowledged by Grace\n"
        ),
        "{}",
        email.text
    );
    assert!(
        email
            .text
            .contains("\nAcknowledge: https://hookgate.example/a/tok3n\n")
    );
    let html = email.html.unwrap();
    assert!(html.contains("<p><strong>Acknowledged by Grace</strong></p>"));
    assert!(
        html.contains("<a href=\"https://hookgate.example/a/tok3n\">Acknowledge this alert</a>")
    );

    let email = mailed(&Notification::AlertEscalated(escalated()), to_ops());
    assert!(
        email.text.contains("\nEscalated: step 2\n"),
        "{}",
        email.text
    );
    assert!(
        email
            .html
            .unwrap()
            .contains("<p><strong>Escalated: step 2</strong></p>")
    );
}

#[test]
fn a_closed_alert_says_when() {
    let email = mailed(
        &Notification::AlertClosed(notice(AlertState::Closed)),
        to_ops(),
    );
    assert!(email.text.contains("\nState: closed\n"));
    assert!(email.text.contains("\nClosed: 2023-11-14T22:25:25Z\n"));
}

#[test]
fn payload_text_cannot_write_html() {
    let mut hostile = notice(AlertState::Open);
    hostile.alert.commit_message = Some("<script>alert('x')</script> & \"more\"".into());
    hostile.alert.title = "<b>bold</b> title".into();
    hostile.alert.labels = vec![("<i>".into(), "\"><img src=x onerror=alert(1)>".into())];
    hostile.alert.url = Some("javascript:alert(1)".into());
    let email = mailed(&Notification::AlertOpened(hostile), to_ops());
    let html = email.html.unwrap();
    assert!(!html.contains("<script"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;more&quot;")
    );
    assert!(html.contains("&lt;b&gt;bold&lt;/b&gt; title"));
    assert!(html.contains("<th align=\"left\" valign=\"top\">&lt;i&gt;</th>"));
    assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("href=\"javascript"), "{html}");
    assert!(html.contains("<td>javascript:alert(1)</td>"));
    // The text part is text: it stays as written.
    assert!(
        email
            .text
            .contains("Commit: bdf6fac <script>alert('x')</script>")
    );
}

#[test]
fn a_message_is_titled_by_its_first_title_else_its_first_line() {
    let email = mailed(
        &Notification::Message(message()),
        json!({"to": "ops@example.com"}),
    );
    assert_eq!(email.to, ["ops@example.com"]);
    assert_eq!(email.subject, "[acme/widgets] 1 new commit on main");
    assert!(
        email.text.starts_with(
            "[acme/widgets] 1 new commit on main\n\nDeployed v1.2 by Ada\n\n\
             c14c1bb Fix <tag> & more — Ada\n\nBranch: main\n\
             Link: https://bitbucket.org/acme/widgets/branches/compare/b..a\n"
        ),
        "{}",
        email.text
    );
    assert!(
        email
            .html
            .unwrap()
            .contains("c14c1bb Fix &lt;tag&gt; &amp; more — Ada")
    );

    let text_only = Message::text("Deploy finished\nall green");
    let email = mailed(&Notification::Message(text_only), to_ops());
    assert_eq!(email.subject, "Deploy finished");
}

#[test]
fn recipients_are_required() {
    for config in [json!({}), json!({"to": []}), json!({"to": " "})] {
        let mut destination = destination("email", config.clone());
        destination.url.clear();
        let error = crate::HttpNotifier::notify(
            &Notification::Message(message()),
            &context(),
            &destination,
        )
        .unwrap_err();
        assert!(error.message().contains("`to`"), "{config}: {error}");
    }
}
