//! The web console at `/ui/`, end to end: a real gateway on 127.0.0.1, real signed webhooks, and
//! real headless Chromium driven through chromedriver (WebDriver) with fantoccini. Chromium and
//! chromedriver are Debian's `chromium` and `chromium-driver` (`.ci/run` installs them); without
//! them the browser test fails and says so.
//!
//! The browser test saves a screenshot of each page; with `HOOKGATE_UPDATE_SCREENSHOTS=1` it
//! writes them to `docs/screenshots/` (the README shows them), otherwise to a temporary folder.

use anyhow::{Context, Result, anyhow, ensure};
use fantoccini::{Client, ClientBuilder, Locator};
use hookgate_tests::bitbucket::{ACCESS_TOKEN, FakeBitbucket, REPO, WORKSPACE};
use hookgate_tests::commit_status_payload;
use hookgate_tests::harness::{ADMIN_TOKEN, CaptureReceiver, TestGateway};
use serde_json::{Value, json};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// The longest any awaited page change may take.
pub(crate) const WAIT: Duration = hookgate_tests::harness::LIVENESS_FLOOR;
const WIDTH: u32 = 1366;

/// chromedriver, stopped (with its browser) when dropped, even when a test fails.
pub(crate) struct Chromedriver(Child);

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts chromedriver on a free port and a fresh headless Chromium session.
pub(crate) async fn start_browser(profile: &Path) -> Result<(Chromedriver, Client)> {
    for path in [CHROMEDRIVER, CHROMIUM] {
        ensure!(
            Path::new(path).exists(),
            "{path} is missing: the console tests drive Debian's Chromium; install it with \
             `apt-get install chromium chromium-driver` (.ci/run does)"
        );
    }
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let driver = Chromedriver(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting chromedriver")?,
    );
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        ensure!(started.elapsed() < WAIT, "chromedriver did not listen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                format!("--window-size={WIDTH},900"),
                format!("--user-data-dir={}", profile.display()),
            ],
        },
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .context("starting a Chromium session")?;
    Ok((driver, client))
}

/// Where screenshots go.
pub(crate) fn screenshot_dir() -> (PathBuf, Option<tempfile::TempDir>) {
    if std::env::var_os("HOOKGATE_UPDATE_SCREENSHOTS").is_some() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
        std::fs::create_dir_all(&dir).expect("docs/screenshots");
        (dir, None)
    } else {
        let temp = tempfile::tempdir().expect("temp dir");
        (temp.path().to_path_buf(), Some(temp))
    }
}

/// The console in one browser session.
pub(crate) struct Console<'a> {
    pub(crate) client: &'a Client,
    pub(crate) base: String,
    pub(crate) screenshots: PathBuf,
}

impl Console<'_> {
    pub(crate) async fn open(&self, path: &str) -> Result<()> {
        Ok(self.client.goto(&format!("{}{path}", self.base)).await?)
    }

    pub(crate) async fn path(&self) -> Result<String> {
        Ok(self.client.current_url().await?.path().to_string())
    }

    /// Whether the browser gets to `path` (bounded): a click that submits a form can return
    /// before the next page is there.
    pub(crate) async fn arrives_at(&self, path: &str) -> Result<bool> {
        let started = Instant::now();
        while self.path().await? != path {
            if started.elapsed() > WAIT {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(true)
    }

    /// Waits (bounded) for an element.
    pub(crate) async fn element(&self, css: &str) -> Result<fantoccini::elements::Element> {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .with_context(|| format!("waiting for {css}"))
    }

    pub(crate) async fn text(&self, css: &str) -> Result<String> {
        Ok(self.element(css).await?.text().await?)
    }

    pub(crate) async fn click(&self, css: &str) -> Result<()> {
        Ok(self.element(css).await?.click().await?)
    }

    pub(crate) async fn type_into(&self, css: &str, text: &str) -> Result<()> {
        Ok(self.element(css).await?.send_keys(text).await?)
    }

    /// Reloads `path` until the text of `css` satisfies `done` (bounded).
    pub(crate) async fn reload_until(
        &self,
        path: &str,
        css: &str,
        done: impl Fn(&str) -> bool,
    ) -> Result<()> {
        let started = Instant::now();
        loop {
            self.open(path).await?;
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && done(&element.text().await?)
            {
                return Ok(());
            }
            ensure!(
                started.elapsed() < WAIT,
                "{path}: {css} never showed what was awaited"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves the whole page as `<name>.png`.
    pub(crate) async fn screenshot(&self, name: &str) -> Result<()> {
        let height = self
            .client
            .execute(
                "window.scrollTo(0, 0); return document.documentElement.scrollHeight \
                 + window.outerHeight - window.innerHeight;",
                vec![],
            )
            .await?
            .as_u64()
            .unwrap_or(900)
            .clamp(700, 2400);
        self.client.set_window_size(WIDTH, height as u32).await?;
        let png = self.client.screenshot().await?;
        self.client.set_window_size(WIDTH, 900).await?;
        ensure!(
            png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
            "{name}: not a PNG of a rendered page ({} bytes)",
            png.len()
        );
        std::fs::write(self.screenshots.join(format!("{name}.png")), png)?;
        Ok(())
    }
}

/// The admin API, for checking what the console did.
pub(crate) async fn api(gateway: &str, path: &str) -> Result<Value> {
    Ok(reqwest::Client::new()
        .get(format!("{gateway}/api/v1{path}"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await?
        .json()
        .await?)
}

#[test]
fn console_in_a_real_browser() {
    let bitbucket = FakeBitbucket::start();
    let api_url = bitbucket.url.clone();
    let gateway = TestGateway::start(move |config| config.bitbucket.api_url = api_url);
    let receiver = CaptureReceiver::start();
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
            let outcome = browse(&console, &gateway.url, &receiver.url).await;
            client.close().await?;
            outcome
        })
        .unwrap_or_else(|error| panic!("{error:#}"));
}

/// Sign in, create a source through the form, post a signed webhook, follow it through the
/// Inbound Log, the record, the alert (acknowledged), a replay, the deliveries, a send test of
/// the destination, the plugins and
/// the dry run; a forged form is refused; connect Bitbucket through its form (against a fake
/// Bitbucket API); sign out.
async fn browse(console: &Console<'_>, gateway: &str, receiver: &str) -> Result<()> {
    // Without a session every page leads to sign-in.
    console.open("/ui/inbound").await?;
    ensure!(console.path().await? == "/ui/login", "not sent to sign-in");
    console.screenshot("sign-in").await?;
    console.type_into("#token", "not-the-token").await?;
    console.click("#sign-in").await?;
    let refusal = console.text("#login-error").await?;
    ensure!(refusal.contains("not the admin token"), "{refusal}");
    console.type_into("#token", ADMIN_TOKEN).await?;
    console.click("#sign-in").await?;
    console.element("#new-source").await?;

    // Create a source through the form, with a live template preview on the way.
    console.click("#new-source").await?;
    console.type_into("#name", "widgets CI").await?;
    console
        .type_into(
            "#template",
            "{{actor.display_name}} pushed to {{repository.full_name}}",
        )
        .await?;
    let started = Instant::now();
    while !console
        .text("#preview-output")
        .await?
        .contains("Martin Herren pushed to martinherren1984/publictestrepo")
    {
        ensure!(started.elapsed() < WAIT, "the live preview never rendered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    console
        .type_into("input[name=dest_url]", &format!("{receiver}/discord"))
        .await?;
    console.screenshot("source-form").await?;
    console.click("#save-source").await?;
    let url = console.text("#endpoint-url").await?;
    let secret = console.text("#endpoint-secret").await?;
    ensure!(secret.len() == 64, "secret {secret:?}");
    console.screenshot("source-created").await?;
    console.open("/ui/sources").await?;
    ensure!(
        console.text("table").await?.contains(&url),
        "the list shows the URL"
    );
    ensure!(
        !console.client.source().await?.contains(&secret),
        "the secret is shown only once"
    );
    console.screenshot("sources").await?;

    // A signed failed-pipeline webhook, as Bitbucket sends it.
    let body = commit_status_payload("FAILED");
    let signature = hookgate::verify::sign_hub_sha256(&secret, body.as_bytes());
    let answer: Value = reqwest::Client::new()
        .post(&url)
        .header("Content-Type", "application/json")
        .header("X-Event-Key", "repo:commit_status_updated")
        .header("X-Request-UUID", "4f1b2d3e-0000-4000-8000-000000000001")
        .header("X-Hub-Signature", &signature)
        .body(body)
        .send()
        .await?
        .json()
        .await?;
    let id = answer["id"]
        .as_str()
        .ok_or_else(|| anyhow!("not accepted: {answer}"))?
        .to_string();

    // The Inbound Log shows it processed, with AlertOps' wording.
    let row = format!("tr[data-record=\"{id}\"]");
    console
        .reload_until("/ui/inbound", &format!("{row} .badge"), |status| {
            status == "processed"
        })
        .await?;
    let line = console.text(&row).await?;
    ensure!(line.contains("Mapped Opened"), "{line}");
    ensure!(line.contains("widgets CI"), "{line}");
    console.screenshot("inbound-log").await?;

    // The record: outcomes, redacted signature, pretty payload, its delivery.
    console.click(&format!("{row} a")).await?;
    let outcomes = console.text("#outcomes").await?;
    ensure!(outcomes.contains("Mapped Opened"), "{outcomes}");
    let headers = console.text("#headers").await?;
    ensure!(
        headers.contains("x-hub-signature") && headers.contains("[redacted]"),
        "{headers}"
    );
    ensure!(
        !console.client.source().await?.contains(&signature),
        "the signature is on the page"
    );
    let payload = console.text("#payload").await?;
    ensure!(
        payload.contains("\"state\": \"FAILED\""),
        "payload not pretty-printed"
    );
    console.screenshot("inbound-record").await?;

    // Alerts: the open alert; acknowledge it.
    console.open("/ui/alerts").await?;
    let alerts = console.text("#alerts-table").await?;
    ensure!(alerts.contains("Pipeline #4 for main failed"), "{alerts}");
    console.screenshot("alerts").await?;
    console.click("button[data-action=ack]").await?;
    ensure!(
        console.text("#alert-state").await? == "acknowledged",
        "not acknowledged"
    );
    console.screenshot("alert").await?;
    let alert = &api(gateway, "/alerts?state=acknowledged").await?["items"][0];
    ensure!(alert["count"] == 1, "{alert}");

    // A form whose CSRF token was tampered with is refused, and changes nothing.
    console
        .client
        .execute(
            "document.querySelector('form[action$=\"/close\"] input[name=csrf]').value = 'forged';",
            vec![],
        )
        .await?;
    console.click("button[data-action=close]").await?;
    ensure!(console.text("#message-heading").await? == "Form refused");
    console.screenshot("csrf-refused").await?;
    let alert = &api(gateway, "/alerts?state=acknowledged").await?["items"][0];
    ensure!(alert["state"] == "acknowledged", "{alert}");

    // Replay: the record runs again, but the acknowledged alert already holds it, so it counts
    // once (README, "A replay").
    console.open(&format!("/ui/inbound/{id}")).await?;
    console.click("#replay").await?;
    console
        .reload_until(&format!("/ui/inbound/{id}"), "#outcomes", |outcomes| {
            outcomes.contains("Already Applied")
        })
        .await?;
    let alert = &api(gateway, "/alerts?state=acknowledged").await?["items"][0];
    ensure!(alert["count"] == 1, "{alert}");
    ensure!(alert["history"] == json!([id]), "{alert}");

    // Deliveries: the opened alert's notice reached the receiver.
    console
        .reload_until(
            "/ui/deliveries",
            "#deliveries-table tbody tr:last-child .badge",
            |status| status == "delivered",
        )
        .await?;
    console.screenshot("deliveries").await?;
    console
        .click("#deliveries-table tbody tr:last-child a")
        .await?;
    let attempts = console.text("#attempts").await?;
    ensure!(attempts.contains("200"), "{attempts}");
    console.screenshot("delivery").await?;

    // Send test: one real notification to the source's destination, then its attempt.
    console.open("/ui/sources").await?;
    console
        .click("form.destination-test[data-destination=\"0\"] button[data-action=send-test]")
        .await?;
    let attempts = console.text("#attempts").await?;
    ensure!(
        console.path().await?.starts_with("/ui/deliveries/dl_"),
        "the send test did not show its delivery"
    );
    ensure!(attempts.contains("200"), "{attempts}");
    console.screenshot("send-test").await?;

    // Plugins.
    console.open("/ui/plugins").await?;
    let plugins = console.text("#plugins-table").await?;
    ensure!(
        plugins.contains("bitbucket-pipelines") && plugins.contains("alert-mapper"),
        "{plugins}"
    );
    console.screenshot("plugins").await?;

    // Test: a dry run on the push sample shows the request that would go to the receiver.
    console.open("/ui/test").await?;
    console
        .element("#event")
        .await?
        .select_by_value("repo:push")
        .await?;
    console.click("#run-test").await?;
    let result = console.text("#test-result").await?;
    ensure!(result.contains(&format!("{receiver}/discord")), "{result}");
    ensure!(result.contains("Formatted"), "{result}");
    console.screenshot("test").await?;

    // Connect Bitbucket: the form registers a webhook with the (fake) Bitbucket API and shows
    // the new source; the token is not on the page.
    console.open("/ui/sources").await?;
    console.click("#connect-bitbucket").await?;
    console.type_into("#workspace", WORKSPACE).await?;
    console.type_into("#repo", REPO).await?;
    console.type_into("#bitbucket-token", ACCESS_TOKEN).await?;
    console.click("#connect").await?;
    let hook = console.text("#source-hook").await?;
    ensure!(
        hook.starts_with('{') && hook.ends_with('}'),
        "webhook {hook:?}"
    );
    ensure!(
        console.text("#source-repository").await? == format!("{WORKSPACE}/{REPO}"),
        "the connected repository is not shown"
    );
    ensure!(
        !console.client.source().await?.contains(ACCESS_TOKEN),
        "the Bitbucket token is on the page"
    );

    // Sign out: the session is gone.
    console.click("#sign-out").await?;
    ensure!(console.arrives_at("/ui/login").await?, "not signed out");
    console.open("/ui/alerts").await?;
    ensure!(
        console.path().await? == "/ui/login",
        "a page opened after sign-out"
    );
    Ok(())
}

/// A plain HTTP client without redirects or cookies, to see exactly what the console answers.
pub(crate) fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The session cookie from a sign-in answer, as a `Cookie` header value.
pub(crate) fn sign_in(gateway: &TestGateway) -> String {
    let answer = http()
        .post(format!("{}/ui/login", gateway.url))
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .unwrap();
    assert_eq!(answer.status(), 303);
    assert_eq!(answer.headers()["location"], "/ui/sources");
    let cookie = answer.headers()["set-cookie"].to_str().unwrap().to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/ui"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    cookie.split(';').next().unwrap().to_string()
}

/// A page's CSRF token (every page with a form carries it).
/// The text of a console page fetched with the session `cookie` (a `Cookie` header value).
pub(crate) fn signed_in_page(
    client: &reqwest::blocking::Client,
    url: impl reqwest::IntoUrl,
    cookie: &str,
) -> String {
    client
        .get(url)
        .header("Cookie", cookie)
        .send()
        .unwrap()
        .text()
        .unwrap()
}

pub(crate) fn csrf_of(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).expect("a CSRF field") + marker.len();
    page[start..start + 48].to_string()
}

#[test]
fn console_sessions_csrf_secrets_and_escaping() {
    let gateway = TestGateway::start(|_| {});
    let client = http();
    let ui = |path: &str| format!("{}/ui{path}", gateway.url);
    let endpoint = gateway.create_endpoint(json!({"name": "<script>alert(1)</script>"}));
    let id = endpoint["id"].as_str().unwrap();
    let secret = endpoint["secret"].as_str().unwrap();

    // No session: pages redirect to sign-in, forms are refused.
    let answer = client.get(ui("/sources")).send().unwrap();
    assert_eq!(answer.status(), 303);
    assert_eq!(answer.headers()["location"], "/ui/login");
    let answer = client
        .post(ui(&format!("/sources/{id}/disable")))
        .form(&[("csrf", "anything")])
        .send()
        .unwrap();
    assert_eq!(answer.status(), 403);
    assert!(answer.text().unwrap().contains("Not signed in"));
    let answer = client
        .post(ui("/login"))
        .form(&[("token", "wrong")])
        .send()
        .unwrap();
    assert_eq!(answer.status(), 401);
    assert!(answer.headers().get("set-cookie").is_none());

    let cookie = sign_in(&gateway);
    let answer = client
        .get(ui("/sources"))
        .header("Cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(answer.status(), 200);
    let headers = answer.headers().clone();
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["cache-control"], "no-store");
    let page = answer.text().unwrap();
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "name not escaped"
    );
    assert!(!page.contains("<script>alert(1)"), "raw markup from data");
    assert!(!page.contains(secret), "the secret is shown after creation");
    let csrf = csrf_of(&page);

    // A session's form without its token, or with another, is refused and changes nothing.
    let disable = ui(&format!("/sources/{id}/disable"));
    for form in [vec![], vec![("csrf", "0".repeat(48))]] {
        let answer = client
            .post(&disable)
            .header("Cookie", &cookie)
            .form(&form)
            .send()
            .unwrap();
        assert_eq!(answer.status(), 403);
        assert!(answer.text().unwrap().contains("CSRF"));
    }
    assert_eq!(
        gateway.api("GET", &format!("/endpoints/{id}"), None).1["enabled"],
        true
    );
    let answer = client
        .post(&disable)
        .header("Cookie", &cookie)
        .form(&[("csrf", &csrf)])
        .send()
        .unwrap();
    assert_eq!(answer.status(), 303);
    assert_eq!(
        gateway.api("GET", &format!("/endpoints/{id}"), None).1["enabled"],
        false
    );

    // Rotating shows the new secret once; webhooks signed with it are accepted.
    let enabled = gateway.create_endpoint(json!({"name": "rotating"}));
    let rotating = enabled["id"].as_str().unwrap();
    let page = client
        .post(ui(&format!("/sources/{rotating}/rotate-secret")))
        .header("Cookie", &cookie)
        .form(&[("csrf", &csrf)])
        .send()
        .unwrap()
        .text()
        .unwrap();
    let marker = "id=\"endpoint-secret\">";
    let start = page.find(marker).expect("the new secret") + marker.len();
    let new_secret = &page[start..start + 64];
    assert_ne!(new_secret, enabled["secret"].as_str().unwrap());
    let body = commit_status_payload("FAILED");
    let (status, _) = gateway.post_hook(
        enabled["url"].as_str().unwrap(),
        "repo:commit_status_updated",
        &body,
        Some(new_secret),
        "00000000-0000-4000-8000-000000000001",
    );
    assert_eq!(status, 202);

    // The edit form maps to the endpoint: events, alert mapping with filters, a template,
    // destinations; a template that does not compile is refused with the reason.
    let edit = ui(&format!("/sources/{rotating}/edit"));
    let fields = |template: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("name", "rotating".into()),
            ("provider", "bitbucket".into()),
            ("events_mode", "list".into()),
            ("event", "repo:push".into()),
            ("event", "repo:commit_status_updated".into()),
            ("alerts_plugin", "bitbucket-pipelines".into()),
            ("open", "FAILED, STOPPED".into()),
            ("close", "".into()),
            ("filters", "commit_status^refname=^main$".into()),
            ("format_mode", "template".into()),
            ("template", template.into()),
            ("dest_notifier", "notifier".into()),
            ("dest_kind", "slack".into()),
            ("dest_url", "http://127.0.0.1:9/slack".into()),
            ("dest_notifier", "notifier".into()),
            ("dest_kind", "discord".into()),
            ("dest_url", "".into()),
            ("enabled", "on".into()),
        ]
    };
    let answer = client
        .post(&edit)
        .header("Cookie", &cookie)
        .form(&fields("{{#if}}"))
        .send()
        .unwrap();
    assert_eq!(answer.status(), 422);
    assert!(answer.text().unwrap().contains("format.template"));
    let answer = client
        .post(&edit)
        .header("Cookie", &cookie)
        .form(&fields("{{actor.display_name}} pushed"))
        .send()
        .unwrap();
    assert_eq!(answer.status(), 303);
    let saved = gateway
        .api("GET", &format!("/endpoints/{rotating}"), None)
        .1;
    assert_eq!(
        saved["events"],
        json!(["repo:push", "repo:commit_status_updated"])
    );
    assert_eq!(
        saved["alerts"],
        json!({"plugin": "bitbucket-pipelines", "config": {
            "open": ["FAILED", "STOPPED"],
            "filters": [{"field": "commit_status^refname", "regex": "^main$"}],
        }})
    );
    assert_eq!(
        saved["format"],
        json!({"template": "{{actor.display_name}} pushed"})
    );
    assert_eq!(saved["destinations"].as_array().unwrap().len(), 1);
    assert_eq!(saved["destinations"][0]["kind"], "slack");
    let page = signed_in_page(&client, &edit, &cookie);
    assert!(
        page.contains("value=\"FAILED, STOPPED\""),
        "the form shows what was saved"
    );

    // Sign-out ends the session.
    let answer = client
        .post(ui("/logout"))
        .header("Cookie", &cookie)
        .form(&[("csrf", &csrf)])
        .send()
        .unwrap();
    assert_eq!(answer.status(), 303);
    let answer = client
        .get(ui("/sources"))
        .header("Cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(answer.status(), 303);
    assert_eq!(answer.headers()["location"], "/ui/login");
}
