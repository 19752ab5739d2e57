//! Connect Bitbucket with OAuth, against the fake Bitbucket's consent page, token endpoint and
//! repository listing: the console's Connect → consent → callback → picker → source and
//! webhook; Disconnect with the stored tokens (one request, nothing to paste), refreshed when
//! expired; a forged or reused `state` refused; a revoked consent a clear "connect again"; no
//! token in any answer, page, log or database byte.

use crate::console::{csrf_of, http};
use hookgate::config::SecretText;
use hookgate::store::Store as _;
use hookgate::store::redb::RedbStore;
use hookgate_tests::bitbucket::{FakeBitbucket, REPO, WORKSPACE};
use hookgate_tests::bitbucket_oauth::{
    ACCESS_TOKEN_PREFIX, ADMIN_REPOSITORIES, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN_PREFIX,
};
use hookgate_tests::harness::{ADMIN_TOKEN, ChildGateway, ChildGatewayConfig, TestGateway};
use serde_json::{Value, json};
use std::time::Duration;

/// A gateway in process whose Bitbucket (API and OAuth) is the fake, with the fake's consumer.
pub(crate) fn oauth_gateway(fake: &FakeBitbucket) -> TestGateway {
    let url = fake.url.clone();
    let gateway = TestGateway::start(move |config| {
        config.bitbucket.api_url = url.clone();
        config.bitbucket.oauth_url = url;
        config.bitbucket.oauth_client_id = Some(CLIENT_ID.into());
        config.bitbucket.oauth_client_secret = Some(SecretText::new(CLIENT_SECRET));
    });
    fake.oauth
        .set_callback_url(&format!("{}/ui/bitbucket/callback", gateway.url));
    gateway
}

/// A console session on `base`: its cookie and CSRF token.
pub(crate) struct ConsoleSession {
    pub(crate) base: String,
    pub(crate) cookie: String,
    pub(crate) csrf: String,
}

impl ConsoleSession {
    pub(crate) fn sign_in(base: &str) -> Self {
        let answer = http()
            .post(format!("{base}/ui/login"))
            .form(&[("token", ADMIN_TOKEN)])
            .send()
            .unwrap();
        assert_eq!(answer.status(), 303);
        let cookie = answer.headers()["set-cookie"].to_str().unwrap();
        let cookie = cookie.split(';').next().unwrap().to_string();
        let mut session = Self {
            base: base.to_string(),
            cookie,
            csrf: String::new(),
        };
        session.csrf = csrf_of(&session.get("/ui/sources").1);
        session
    }

    pub(crate) fn get(&self, path: &str) -> (u16, String) {
        let (status, _, body) = self.get_with_location(path);
        (status, body)
    }

    /// A GET's status, `Location` and body.
    pub(crate) fn get_with_location(&self, path: &str) -> (u16, String, String) {
        let answer = http()
            .get(format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .send()
            .unwrap();
        let location = answer
            .headers()
            .get("location")
            .map(|value| value.to_str().unwrap().to_string())
            .unwrap_or_default();
        (answer.status().as_u16(), location, answer.text().unwrap())
    }

    /// Posts a form (with the CSRF token); the status, `Location` and body.
    pub(crate) fn post(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String, String) {
        let mut form: Vec<(&str, &str)> = vec![("csrf", &self.csrf)];
        form.extend_from_slice(fields);
        let answer = http()
            .post(format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .form(&form)
            .send()
            .unwrap();
        let location = answer
            .headers()
            .get("location")
            .map(|value| value.to_str().unwrap().to_string())
            .unwrap_or_default();
        (answer.status().as_u16(), location, answer.text().unwrap())
    }

    /// Connect → the fake's consent page → Grant access: the callback URL Bitbucket sends the
    /// browser back to (not yet visited).
    pub(crate) fn consent(&self, fake: &FakeBitbucket) -> String {
        let (status, location, _) = self.get_with_location("/ui/bitbucket/authorize");
        assert_eq!(status, 303);
        let prefix = format!(
            "{}/site/oauth2/authorize?client_id={CLIENT_ID}&response_type=code&state=",
            fake.url
        );
        assert!(location.starts_with(&prefix), "{location}");
        let consent = http().get(&location).send().unwrap();
        assert_eq!(consent.status(), 200);
        let page = consent.text().unwrap();
        let marker = "id=\"grant\" href=\"";
        let start = page.find(marker).expect("a Grant access link") + marker.len();
        let grant = &page[start..start + page[start..].find('"').unwrap()];
        let granted = http()
            .get(format!("{}{}", fake.url, grant.replace("&amp;", "&")))
            .send()
            .unwrap();
        assert_eq!(granted.status(), 302);
        granted.headers()["location"].to_str().unwrap().to_string()
    }
}

/// Visits a callback URL as the browser does after Bitbucket's cross-site redirect: without
/// the SameSite=Strict session cookie.
fn visit_callback(url: &str) -> (u16, String) {
    let answer = http().get(url).send().unwrap();
    (answer.status().as_u16(), answer.text().unwrap())
}

/// Connects `acme/widgets` through the whole flow; the new endpoint as the API shows it.
fn connect_widgets(gateway_url: &str, fake: &FakeBitbucket, session: &ConsoleSession) -> Value {
    let callback = session.consent(fake);
    let (status, page) = visit_callback(&callback);
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("http-equiv=\"refresh\" content=\"0;url=/ui/bitbucket/repositories\""),
        "{page}"
    );
    let (status, picker) = session.get("/ui/bitbucket/repositories");
    assert_eq!(status, 200, "{picker}");
    let (status, _, connected) = session.post(
        "/ui/bitbucket/repositories",
        &[
            ("repository", "acme/widgets"),
            ("events_mode", "list"),
            ("event", "repo:push"),
            ("event", "pullrequest:changes_request_created"),
            ("alerts", "bitbucket-pipelines"),
            ("destination_kind", "discord"),
            ("destination_url", "http://127.0.0.1:9/discord"),
        ],
    );
    assert_eq!(status, 200, "{connected}");
    let answer: Value = reqwest::blocking::Client::new()
        .get(format!("{gateway_url}/api/v1/endpoints"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    answer["items"][0].clone()
}

fn disconnect(gateway_url: &str, id: &str) -> (u16, Value) {
    let answer = reqwest::blocking::Client::new()
        .post(format!(
            "{gateway_url}/api/v1/endpoints/{id}/bitbucket/disconnect"
        ))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .unwrap();
    (answer.status().as_u16(), answer.json().unwrap())
}

/// The real binary with the consumer's secret in `HOOKGATE_BITBUCKET_OAUTH_SECRET`, logging at
/// debug: Connect → consent → picker (every page of repositories) → source and webhook (the
/// OAuth access token as Bearer) → Disconnect with one request and no token → the webhook
/// deleted and the tokens gone; no token anywhere it could leak.
#[test]
fn oauth_connect_picks_a_repository_and_disconnects_with_the_stored_tokens() {
    let fake = FakeBitbucket::start();
    let folder = tempfile::tempdir().unwrap();
    let mut settings = ChildGatewayConfig::new(crate::hookgate_binary(), folder.path());
    settings.config_toml = Some(format!(
        "{}[bitbucket]\napi_url = \"{url}\"\noauth_url = \"{url}\"\noauth_client_id = \"{CLIENT_ID}\"\n",
        ChildGatewayConfig::TEST_SETTINGS,
        url = fake.url,
    ));
    settings.rust_log = "debug".into();
    settings.env = vec![(
        "HOOKGATE_BITBUCKET_OAUTH_SECRET".into(),
        CLIENT_SECRET.into(),
    )];
    let data_dir = settings.data_dir.clone();
    let mut gateway = ChildGateway::start(settings);
    let base = gateway.url.clone();
    fake.oauth
        .set_callback_url(&format!("{base}/ui/bitbucket/callback"));
    let session = ConsoleSession::sign_in(&base);
    let (_, sources) = session.get("/ui/sources");
    assert!(
        sources.contains("id=\"connect-bitbucket-oauth\""),
        "no OAuth Connect button"
    );

    let callback = session.consent(&fake);
    let (status, page) = visit_callback(&callback);
    assert_eq!(status, 200, "{page}");
    // The code was exchanged with the consumer's Basic credentials.
    let grants = fake.oauth.grants();
    assert_eq!(grants.len(), 1, "{grants:?}");
    assert_eq!(grants[0].grant_type, "authorization_code");
    assert_eq!(grants[0].status, 200);

    // The picker lists every repository the user administers, across pages.
    let (status, picker) = session.get("/ui/bitbucket/repositories");
    assert_eq!(status, 200, "{picker}");
    for full_name in ADMIN_REPOSITORIES {
        assert!(
            picker.contains(&format!("value=\"{full_name}\"")),
            "{full_name} missing from the picker"
        );
    }
    let listings = fake.oauth.listings();
    assert_eq!(listings.len(), 2, "two pages: {listings:?}");
    assert!(listings.iter().all(|auth| {
        auth.as_deref()
            .unwrap()
            .starts_with(&format!("Bearer {ACCESS_TOKEN_PREFIX}"))
    }));
    assert!(picker.contains("value=\"pullrequest:changes_request_created\""));

    let (status, _, connected) = session.post(
        "/ui/bitbucket/repositories",
        &[
            ("repository", "acme/widgets"),
            ("name", "widgets via OAuth"),
            ("events_mode", "push"),
            ("alerts", "bitbucket-pipelines"),
            ("destination_kind", "discord"),
            ("destination_url", "http://127.0.0.1:9/discord"),
        ],
    );
    assert_eq!(status, 200, "{connected}");
    let hooks = fake.hooks();
    assert_eq!(hooks.len(), 1);
    let create = fake.calls().pop().unwrap();
    assert_eq!(create.method, "POST");
    assert_eq!(
        create.raw_path,
        format!("/2.0/repositories/{WORKSPACE}/{REPO}/hooks")
    );
    assert!(
        create
            .authorization
            .as_deref()
            .unwrap()
            .starts_with(&format!("Bearer {ACCESS_TOKEN_PREFIX}"))
    );
    assert_eq!(create.body["events"], json!(["repo:push"]));

    let (_, endpoints) = gateway.api("GET", "/endpoints", None);
    let endpoint = endpoints["items"][0].clone();
    assert_eq!(endpoint["name"], "widgets via OAuth");
    assert_eq!(endpoint["bitbucket_connection"], json!({"kind": "oauth"}));
    assert_eq!(endpoint["bitbucket"]["hook_uuid"], hooks[0]["uuid"]);
    assert_eq!(endpoint["alerts"]["plugin"], "bitbucket-pipelines");
    assert_eq!(endpoint["destinations"][0]["kind"], "discord");
    assert_eq!(create.body["url"], endpoint["url"]);
    let id = endpoint["id"].as_str().unwrap().to_string();
    // The picker's grant was used up.
    let (status, _) = session.get("/ui/bitbucket/repositories");
    assert_eq!(status, 409);

    // The tokens' key: 32 bytes, the owner's alone.
    let key = data_dir.join("bitbucket-tokens.key");
    assert_eq!(std::fs::read(&key).unwrap().len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    // The tokens are in the store, sealed; they survive a restart with the key file.
    gateway.kill_9();
    {
        let store = RedbStore::open(&data_dir.join("hookgate.redb")).unwrap();
        let sealed = store
            .bitbucket_connection(&id)
            .unwrap()
            .expect("a stored connection");
        assert_eq!(sealed[0], 1, "the sealed format");
        assert!(
            !sealed
                .windows(ACCESS_TOKEN_PREFIX.len())
                .any(|bytes| bytes == ACCESS_TOKEN_PREFIX.as_bytes()),
            "the token is stored in the clear"
        );
    }
    gateway.restart();
    let session = ConsoleSession::sign_in(&base);
    let (_, sources) = session.get("/ui/sources");
    let (_, edit) = session.get(&format!("/ui/sources/{id}/edit"));
    let (_, disconnect_page) = session.get(&format!("/ui/sources/{id}/disconnect"));
    assert!(
        !disconnect_page.contains("name=\"token\""),
        "an OAuth source's Disconnect asks for no token"
    );

    let (status, disconnected) = disconnect(&base, &id);
    assert_eq!(status, 200, "{disconnected}");
    assert!(fake.hooks().is_empty(), "the webhook was not deleted");
    let delete = fake.calls().pop().unwrap();
    assert_eq!(delete.method, "DELETE");
    assert_eq!(delete.status, 204);
    assert_eq!(delete.authorization, create.authorization);
    assert_eq!(disconnected["enabled"], false);
    assert_eq!(disconnected["bitbucket_connection"], Value::Null);
    // The tokens are gone: nothing is left to disconnect with.
    let (status, again) = disconnect(&base, &id);
    assert_eq!(status, 409, "{again}");

    let answers = [
        endpoint.to_string(),
        disconnected.to_string(),
        again.to_string(),
        gateway.api("GET", "/endpoints", None).1.to_string(),
        gateway
            .api("GET", &format!("/endpoints/{id}"), None)
            .1
            .to_string(),
        page,
        picker,
        connected,
        sources,
        edit,
        disconnect_page,
    ];
    gateway.kill_9();
    let store = RedbStore::open(&data_dir.join("hookgate.redb")).unwrap();
    assert_eq!(
        store.bitbucket_connection(&id).unwrap(),
        None,
        "the tokens were kept"
    );
    drop(store);
    let log = gateway.log();
    assert!(log.contains("DEBUG"), "the log is at debug level");
    let database = std::fs::read(data_dir.join("hookgate.redb")).unwrap();
    let issued = fake.oauth.issued_tokens();
    assert!(issued.len() >= 2, "{issued:?}");
    let code = callback
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    for secret in issued
        .iter()
        .map(String::as_str)
        .chain([CLIENT_SECRET, code])
    {
        for answer in &answers {
            assert!(
                !answer.contains(secret),
                "a token in an answer or page: {answer}"
            );
        }
        assert!(!log.contains(secret), "a token in the log");
        assert!(
            !database
                .windows(secret.len())
                .any(|bytes| bytes == secret.as_bytes()),
            "a token in the clear in the database"
        );
    }
    for prefix in [ACCESS_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX] {
        assert!(!log.contains(prefix), "a token in the log");
    }
}

#[test]
fn a_forged_or_reused_state_is_refused() {
    let fake = FakeBitbucket::start();
    let gateway = oauth_gateway(&fake);
    let session = ConsoleSession::sign_in(&gateway.url);
    let callback_url = format!("{}/ui/bitbucket/callback", gateway.url);

    // A state this gateway never handed out: refused before any code is exchanged.
    let (status, page) = visit_callback(&format!(
        "{callback_url}?code=fake-code-forged&state=forged-state-0000"
    ));
    assert_eq!(status, 400, "{page}");
    assert!(
        page.contains("does not belong to a Connect started here"),
        "{page}"
    );
    assert!(!page.contains("fake-code-forged"));
    let (status, page) = visit_callback(&format!("{callback_url}?code=fake-code-forged"));
    assert_eq!(status, 400, "{page}");
    assert!(
        fake.oauth.grants().is_empty(),
        "a forged state reached the token endpoint"
    );

    // The real one works once; the same answer again is refused.
    let callback = session.consent(&fake);
    assert_eq!(visit_callback(&callback).0, 200);
    let (status, page) = visit_callback(&callback);
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("already used"), "{page}");
    assert_eq!(
        fake.oauth.grants().len(),
        1,
        "the reused state exchanged a code"
    );

    // The grant belongs to the session that started it: another session has none.
    let other = ConsoleSession::sign_in(&gateway.url);
    let (status, page) = other.get("/ui/bitbucket/repositories");
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("No Bitbucket authorization"));
    let (status, _) = session.get("/ui/bitbucket/repositories");
    assert_eq!(status, 200);

    // A consent the user denied: a clear page, nothing exchanged.
    let (_, location, _) = session.get_with_location("/ui/bitbucket/authorize");
    let state = location.split("state=").nth(1).unwrap();
    let deny = http()
        .get(format!(
            "{}/site/oauth2/authorize/decide?decision=deny&state={state}",
            fake.url
        ))
        .send()
        .unwrap();
    let denied = deny.headers()["location"].to_str().unwrap().to_string();
    let (status, page) = visit_callback(&denied);
    assert_eq!(status, 400);
    assert!(page.contains("The user denied access"), "{page}");
    assert_eq!(fake.oauth.grants().len(), 1);

    // Without a session (as a cross-site request arrives: no SameSite=Strict cookie), Connect
    // leads to sign-in, and hands out no state.
    let answer = http()
        .get(format!("{}/ui/bitbucket/authorize", gateway.url))
        .send()
        .unwrap();
    assert_eq!(answer.status(), 303);
    assert_eq!(answer.headers()["location"], "/ui/login");
}

/// The DELETE calls the fake got, in order.
fn deletes(fake: &FakeBitbucket) -> Vec<hookgate_tests::bitbucket::BitbucketCall> {
    fake.calls()
        .into_iter()
        .filter(|call| call.method == "DELETE")
        .collect()
}

#[test]
fn an_expired_access_token_is_refreshed_before_disconnect() {
    let fake = FakeBitbucket::start();
    // Tokens that expire within the gateway's margin: the stored one counts as expired.
    fake.oauth
        .set_access_token_lifetime(Duration::from_secs(30));
    let gateway = oauth_gateway(&fake);
    let session = ConsoleSession::sign_in(&gateway.url);
    let endpoint = connect_widgets(&gateway.url, &fake, &session);
    let id = endpoint["id"].as_str().unwrap();
    let created_with = fake.calls().pop().unwrap().authorization;

    // One click in the sources list: a form, no token field.
    let (_, sources) = session.get("/ui/sources");
    assert!(sources.contains(&format!("action=\"/ui/sources/{id}/disconnect\"")));
    let (status, location, page) = session.post(&format!("/ui/sources/{id}/disconnect"), &[]);
    assert_eq!(status, 303, "{page}");
    assert_eq!(location, "/ui/sources");
    let refresh = fake.oauth.grants().pop().unwrap();
    assert_eq!(refresh.grant_type, "refresh_token");
    assert_eq!(refresh.status, 200);
    // Refreshed before use: the one DELETE carried the new token.
    let deletes = deletes(&fake);
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    assert_eq!(deletes[0].status, 204);
    assert_ne!(
        deletes[0].authorization, created_with,
        "not the refreshed token"
    );
    assert!(fake.hooks().is_empty());
    let (_, shown) = gateway.api("GET", &format!("/endpoints/{id}"), None);
    assert_eq!(shown["enabled"], false);
}

#[test]
fn a_token_bitbucket_expired_early_is_refreshed_once() {
    let fake = FakeBitbucket::start();
    let gateway = oauth_gateway(&fake);
    let session = ConsoleSession::sign_in(&gateway.url);
    let endpoint = connect_widgets(&gateway.url, &fake, &session);
    let id = endpoint["id"].as_str().unwrap();

    // Bitbucket expires the token before the gateway's clock says so.
    fake.oauth.expire_access_tokens();
    let (status, answer) = disconnect(&gateway.url, id);
    assert_eq!(status, 200, "{answer}");
    let deletes = deletes(&fake);
    assert_eq!(
        deletes.iter().map(|call| call.status).collect::<Vec<_>>(),
        [401, 204],
        "refused, refreshed, deleted"
    );
    assert_eq!(
        fake.oauth.grants().pop().unwrap().grant_type,
        "refresh_token"
    );
    assert!(fake.hooks().is_empty());
}

#[test]
fn a_revoked_consent_asks_to_connect_again() {
    let fake = FakeBitbucket::start();
    let gateway = oauth_gateway(&fake);
    let session = ConsoleSession::sign_in(&gateway.url);
    let endpoint = connect_widgets(&gateway.url, &fake, &session);
    let id = endpoint["id"].as_str().unwrap();

    fake.oauth.revoke_consent();
    fake.oauth.expire_access_tokens();
    let (status, answer) = disconnect(&gateway.url, id);
    assert_eq!(status, 422, "{answer}");
    let message = answer["error"].as_str().unwrap();
    assert!(
        message.contains("connect the repository again"),
        "{message}"
    );
    let refresh = fake.oauth.grants().pop().unwrap();
    assert_eq!(refresh.error.as_deref(), Some("invalid_grant"));
    // Nothing changed: the webhook and the source are as they were.
    assert_eq!(fake.hooks().len(), 1);
    let (_, shown) = gateway.api("GET", &format!("/endpoints/{id}"), None);
    assert_eq!(shown["enabled"], true);
    assert_eq!(shown["bitbucket_connection"], json!({"kind": "oauth"}));
    // The console says the same.
    let (status, _, page) = session.post(&format!("/ui/sources/{id}/disconnect"), &[]);
    assert_eq!(status, 422);
    assert!(page.contains("connect the repository again"), "{page}");
}

/// Real headless Chromium: Connect → the fake's consent page → Grant access → the callback
/// (cross-site: the console is opened as `localhost`, Bitbucket is `127.0.0.1`, so the
/// SameSite=Strict cookie is not sent with Bitbucket's redirect) → the picker → source created
/// and webhook registered (checked at the fake) → Disconnect, one click → webhook deleted and
/// the tokens gone.
#[test]
fn oauth_connect_and_disconnect_in_a_real_browser() {
    use crate::console::{Console, screenshot_dir, start_browser};
    use anyhow::{Context, ensure};
    use std::time::Instant;

    let fake = FakeBitbucket::start();
    let gateway = oauth_gateway(&fake);
    let site = gateway.url.replace("127.0.0.1", "localhost");
    fake.oauth
        .set_callback_url(&format!("{site}/ui/bitbucket/callback"));
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
                base: site.clone(),
                screenshots,
            };
            let outcome = async {
                console.open("/ui/login").await?;
                console.type_into("#token", ADMIN_TOKEN).await?;
                console.click("#sign-in").await?;
                console.element("#new-source").await?;
                console.click("#connect-bitbucket-oauth").await?;
                console
                    .element("#grant")
                    .await
                    .context("the consent page")?;
                console.click("#grant").await?;
                ensure!(
                    console.arrives_at("/ui/bitbucket/repositories").await?,
                    "the callback did not lead to the picker: {}",
                    console.path().await?
                );
                console
                    .click("input[name=repository][value='acme/widgets']")
                    .await?;
                console.click("input[name=events_mode][value=push]").await?;
                console.type_into("#name", "widgets (OAuth)").await?;
                console
                    .type_into("#destination-url", "http://127.0.0.1:9/discord")
                    .await?;
                console.screenshot("bitbucket-picker").await?;
                console.click("#connect").await?;
                let hook = console.text("#source-hook").await?;
                let hooks = fake.hooks();
                ensure!(
                    hooks.len() == 1,
                    "the webhook was not registered: {hooks:?}"
                );
                ensure!(hooks[0]["uuid"] == hook.as_str(), "{hook} vs {hooks:?}");
                let endpoints = crate::console::api(&gateway.url, "/endpoints").await?;
                let endpoint = &endpoints["items"][0];
                ensure!(
                    endpoint["bitbucket_connection"]["kind"] == "oauth",
                    "{endpoint}"
                );
                let id = endpoint["id"].as_str().unwrap().to_string();

                console.open("/ui/sources").await?;
                console.click(&format!("#disconnect-{id}")).await?;
                ensure!(
                    console.arrives_at("/ui/sources").await?,
                    "no way back to Sources"
                );
                let started = Instant::now();
                while !fake.hooks().is_empty() {
                    ensure!(
                        started.elapsed() < Duration::from_secs(30),
                        "the webhook is still there"
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                // The gateway deletes the webhook first and saves the endpoint after, so the
                // endpoint is read until it shows the disconnect (a busy machine shows the gap).
                let shown = loop {
                    let shown =
                        crate::console::api(&gateway.url, &format!("/endpoints/{id}")).await?;
                    if shown["enabled"] == false || started.elapsed() > Duration::from_secs(30) {
                        break shown;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                };
                ensure!(shown["enabled"] == false, "{shown}");
                ensure!(shown["bitbucket_connection"].is_null(), "{shown}");
                let page = client.source().await?;
                for token in fake.oauth.issued_tokens() {
                    ensure!(!page.contains(&token), "a token on the page");
                }
                Ok(id)
            }
            .await;
            client.close().await?;
            outcome
        })
        .map(|id| {
            // The tokens are gone with the webhook: nothing is left to disconnect with.
            let (status, answer) = disconnect(&gateway.url, &id);
            assert_eq!(status, 409, "{answer}");
        })
        .unwrap_or_else(|error: anyhow::Error| panic!("{error:#}"));
}
