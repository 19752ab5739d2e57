//! The console's on-call pages in a real browser (the harness of `console.rs`): a user, a
//! team, a schedule, an escalation policy and a maintenance window made through the forms; a
//! refused form shows the field's reason; the schedule's timeline shows its user and the
//! override marked; the overview counts an open alert by severity and the alert page shows
//! its escalation log. Screenshots as in `console.rs` (`HOOKGATE_UPDATE_SCREENSHOTS=1`).

use crate::console::{Console, api, screenshot_dir, start_browser};
use anyhow::{Context, Result, anyhow, ensure};
use fantoccini::Locator;
use hookgate_tests::commit_status_payload;
use hookgate_tests::harness::{ADMIN_TOKEN, CaptureReceiver, TestGateway};
use serde_json::{Value, json};

/// Ada's console password: it must never come back in a page.
const PASSWORD: &str = "ada-console-password-77";

#[test]
fn console_on_call_pages_in_a_real_browser() {
    let gateway = TestGateway::start(|_| {});
    let phone = CaptureReceiver::start();
    let chat = CaptureReceiver::start();
    let endpoint = gateway.create_endpoint(json!({
        "name": "widgets CI",
        "events": ["repo:commit_status_updated"],
        "alerts": {"plugin": "bitbucket-pipelines", "config": {"severity": "critical"}},
        "destinations": [{"kind": "webhook", "url": format!("{}/chat", chat.url)}],
    }));
    let profile = tempfile::tempdir().expect("profile dir");
    let (screenshots, _temp) = screenshot_dir();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime
        .block_on(async {
            let (_driver, client) = start_browser(profile.path()).await?;
            let console = Console {
                client: &client,
                base: gateway.url.clone(),
                screenshots,
            };
            let outcome = browse(&console, &gateway.url, &phone.url, &endpoint).await;
            // Where it stopped, to read a failure by.
            let at = client.current_url().await.map(|url| url.to_string());
            client.close().await?;
            outcome.with_context(|| format!("at {at:?}"))
        })
        .unwrap_or_else(|error| panic!("{error:#}"));
}

/// The id of the newest item of an API list.
async fn newest_id(gateway: &str, path: &str) -> Result<String> {
    let list = api(gateway, path).await?;
    let items = list.get("items").unwrap_or(&list);
    items[0]["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("{path}: {list}"))
}

/// An instant `hours` from now, RFC 3339.
fn hours_from_now(hours: i64) -> String {
    let now = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second()).unwrap();
    now.checked_add(jiff::SignedDuration::from_hours(hours))
        .unwrap()
        .to_string()
}

async fn save(console: &Console<'_>) -> Result<()> {
    console.click("#save").await
}

async fn browse(console: &Console<'_>, gateway: &str, phone: &str, endpoint: &Value) -> Result<()> {
    console.open("/ui/login").await?;
    console.type_into("#token", ADMIN_TOKEN).await?;
    console.click("#sign-in").await?;
    console.element("#new-source").await?;

    // A user through the form, with an ntfy contact method and a password.
    console.open("/ui/users").await?;
    console.click("#new-user").await?;
    console.type_into("#name", "Ada Lovelace").await?;
    console.type_into("#email", "ada@example.com").await?;
    console.type_into("#time_zone", "Europe/Zurich").await?;
    console
        .element("#role")
        .await?
        .select_by_value("admin")
        .await?;
    console
        .element("select[name=contact_kind]")
        .await?
        .select_by_value("ntfy")
        .await?;
    console
        .type_into("input[name=contact_address]", &format!("{phone}/ada-pages"))
        .await?;
    console.type_into("#password", PASSWORD).await?;
    save(console).await?;
    ensure!(console.arrives_at("/ui/users").await?, "not back at People");
    let users = console.text("#users-table").await?;
    ensure!(
        users.contains("Ada Lovelace") && users.contains("set"),
        "{users}"
    );
    let ada = newest_id(gateway, "/users").await?;

    // A refused form comes back with the field's reason and what was typed.
    console.click("#new-user").await?;
    console.type_into("#name", "Bob Dylan").await?;
    console.type_into("#email", "bob@example.com").await?;
    console.type_into("#time_zone", "Mars/Olympus").await?;
    save(console).await?;
    let refusal = console.text("#form-error").await?;
    ensure!(refusal.contains("time_zone"), "{refusal}");
    let kept = console.element("#name").await?.prop("value").await?;
    ensure!(kept.as_deref() == Some("Bob Dylan"), "{kept:?}");
    let time_zone = console.element("#time_zone").await?;
    time_zone.clear().await?;
    time_zone.send_keys("America/New_York").await?;
    save(console).await?;
    ensure!(console.arrives_at("/ui/users").await?, "Bob was not saved");
    let bob = newest_id(gateway, "/users").await?;
    ensure!(bob != ada, "one user");

    // The password is write-only: the edit form says it is set, and no page shows it.
    console.open(&format!("/ui/users/{ada}/edit")).await?;
    let password_state = console.text("#password-state").await?;
    ensure!(password_state.contains("set"), "{password_state}");
    let source = console.client.source().await?;
    ensure!(
        !source.contains(PASSWORD) && !source.contains("$argon2"),
        "the password is on the page"
    );
    console.open("/ui/users").await?;
    console.screenshot("people").await?;

    // A team of both.
    console.open("/ui/teams/new").await?;
    console.type_into("#name", "platform").await?;
    console
        .click(&format!("input[name=member][value=\"{ada}\"]"))
        .await?;
    console
        .click(&format!("input[name=member][value=\"{bob}\"]"))
        .await?;
    save(console).await?;
    ensure!(
        console.arrives_at("/ui/teams").await?,
        "the team was not saved"
    );
    let teams = console.text("#teams-table").await?;
    ensure!(
        teams.contains("Ada Lovelace") && teams.contains("Bob Dylan"),
        "{teams}"
    );

    // A schedule: Ada every week, Bob's override tomorrow.
    console.open("/ui/schedules/new").await?;
    console.type_into("#name", "primary").await?;
    console
        .type_into("input[name=layer0_name]", "weekly")
        .await?;
    console
        .type_into("input[name=layer0_start]", "2026-01-05T09:00:00Z")
        .await?;
    console.type_into("input[name=layer0_users]", &ada).await?;
    console.type_into("input[name=override_user]", &bob).await?;
    console
        .type_into("input[name=override_start]", &hours_from_now(24))
        .await?;
    console
        .type_into("input[name=override_end]", &hours_from_now(48))
        .await?;
    save(console).await?;
    console.element("#timeline").await?;
    let schedule = newest_id(gateway, "/schedules").await?;
    ensure!(
        console.path().await? == format!("/ui/schedules/{schedule}"),
        "not on the schedule's page"
    );
    let on_call = console.text("#on-call-now").await?;
    ensure!(on_call.contains("Ada Lovelace"), "{on_call}");
    console
        .element(&format!(
            "#timeline g.shift[data-user=\"{ada}\"]:not(.override)"
        ))
        .await?;
    console
        .element(&format!("#timeline g.shift.override[data-user=\"{bob}\"]"))
        .await?;
    let legend = console.text("#timeline-legend").await?;
    ensure!(
        legend.contains("Ada Lovelace")
            && legend.contains("Bob Dylan")
            && legend.contains("override"),
        "{legend}"
    );
    console.screenshot("schedule").await?;

    // A policy: refused with a delay that is not one, then saved.
    console.open("/ui/escalation-policies/new").await?;
    console.type_into("#name", "widgets").await?;
    console.type_into("input[name=step0_delay]", "soon").await?;
    console
        .click(&format!(
            "input[name=step0_targets][value=\"schedule:{schedule}\"]"
        ))
        .await?;
    save(console).await?;
    let refusal = console.text("#form-error").await?;
    ensure!(refusal.contains("steps[0].delay"), "{refusal}");
    let delay = console.element("input[name=step0_delay]").await?;
    delay.clear().await?;
    delay.send_keys("5m").await?;
    save(console).await?;
    ensure!(
        console.arrives_at("/ui/escalation-policies").await?,
        "the policy was not saved"
    );
    let policies = console.text("#policies-table").await?;
    ensure!(
        policies.contains("widgets") && policies.contains("primary"),
        "{policies}"
    );
    let policy = newest_id(gateway, "/escalation-policies").await?;
    console.screenshot("policy").await?;

    // A maintenance window (from now, for an hour), active, then deleted.
    console.open("/ui/maintenance-windows/new").await?;
    console
        .type_into("#key_pattern", "^nothing-matches$")
        .await?;
    save(console).await?;
    ensure!(
        console.arrives_at("/ui/maintenance-windows").await?,
        "the window was not saved"
    );
    let windows = console.text("#windows-table").await?;
    ensure!(
        windows.contains("active") && windows.contains("^nothing-matches$"),
        "{windows}"
    );
    console.click("button[data-action=delete]").await?;
    console.element(".empty").await?;
    let left = api(gateway, "/maintenance-windows").await?;
    ensure!(left.to_string().matches("mw_").count() == 0, "{left}");

    // The source escalates by the policy; a failed pipeline opens a critical alert and pages Ada.
    let http = reqwest::Client::new();
    let changed = http
        .patch(format!(
            "{gateway}/api/v1/endpoints/{}",
            endpoint["id"].as_str().unwrap_or_default()
        ))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"escalation_policy": policy}))
        .send()
        .await?;
    ensure!(changed.status() == 200, "{}", changed.text().await?);
    let body = commit_status_payload("FAILED");
    let secret = endpoint["secret"].as_str().unwrap_or_default();
    let accepted = http
        .post(endpoint["url"].as_str().unwrap_or_default())
        .header("Content-Type", "application/json")
        .header("X-Event-Key", "repo:commit_status_updated")
        .header("X-Request-UUID", "4f1b2d3e-0000-4000-8000-00000000aa01")
        .header(
            "X-Hub-Signature",
            hookgate::verify::sign_hub_sha256(secret, body.as_bytes()),
        )
        .body(body)
        .send()
        .await?;
    ensure!(accepted.status() == 202, "{}", accepted.text().await?);

    console
        .reload_until(
            "/ui/overview",
            "#open-alerts li[data-severity=critical] .count",
            |count| count == "1",
        )
        .await?;
    let on_call = console.text("#on-call-now").await?;
    ensure!(
        on_call.contains("primary") && on_call.contains("Ada Lovelace"),
        "{on_call}"
    );
    console
        .element("#webhooks-chart rect.bar[data-count=\"1\"]")
        .await?;
    console
        .element("#alerts-chart rect.bar[data-count=\"1\"]")
        .await?;
    console.screenshot("overview").await?;

    // The alert's page: its severity and the escalation log, Ada paged on ntfy.
    let alert = newest_id(gateway, "/alerts").await?;
    console
        .reload_until(&format!("/ui/alerts/{alert}"), "#escalation-log", |log| {
            log.contains("Ada Lovelace") && log.contains("ntfy")
        })
        .await?;
    ensure!(console.text("#alert-severity").await? == "critical");
    let delivery = console
        .client
        .find(Locator::Css(
            "#escalation-log a[href^=\"/ui/deliveries/dl_\"]",
        ))
        .await?;
    ensure!(delivery.text().await?.starts_with("dl_"));
    let escalation = console.text("#escalation").await?;
    ensure!(escalation.contains("widgets"), "{escalation}");
    console.screenshot("alert-escalation").await?;
    console.click("button[data-action=ack]").await?;
    console
        .reload_until(
            &format!("/ui/alerts/{alert}"),
            "#alert-acknowledged",
            |by| by.contains("by operator"),
        )
        .await?;
    Ok(())
}
