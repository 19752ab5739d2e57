//! What a probe of the running gateway found (issue 16), each attack as a test: JSON injection
//! through a template, proxy variables around the address check, console secrets in a debug
//! log, a world-writable data folder under `umask 000`, and drop-ins that are huge or link out
//! of the plugins folder. The process-wide settings (environment, umask, `RUST_LOG`) are given
//! to a child-process gateway, never to this test process. Weak credentials, caching and the
//! event header are in `credentials`; metrics, body deadlines, connection slots and rejected
//! records' headers in `limits`.

mod credentials;
mod limits;

use crate::gateway::uuid;
use hookgate::config::PluginLimits;
use hookgate::runtime::{PluginEngine, PluginRegistry};
use hookgate_tests::harness::{
    ADMIN_TOKEN, CaptureReceiver, ChildGateway, ChildGatewayConfig, GatewayClient, GatewayProgram,
    TestGateway, wait_for,
};
use hookgate_tests::{fixture, plugin_bytes};
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The pull request title of issue 16: it closes its string and adds an embed of its own.
const EMBED_ADDING_TITLE: &str =
    r#"Fix typo"},{"title":"Security notice","url":"https://evil.example/login"},{"title":"x"#;

#[test]
fn a_pull_request_title_cannot_add_an_embed_through_a_json_template() {
    let gateway = TestGateway::start(|_| {});
    let receiver = CaptureReceiver::start();
    let endpoint = gateway.create_endpoint(json!({
        "name": "pull requests",
        "events": ["pullrequest:created"],
        "format": {"template": r#"{"embeds": [{"title": "{{pullrequest.title}}", "url": "{{pullrequest.links.html.href}}"}]}"#},
        "destinations": [{"notifier": "notifier", "kind": "discord", "url": format!("{}/discord", receiver.url)}],
    }));
    let mut payload: Value = serde_json::from_str(&fixture("pullrequest_created.json")).unwrap();
    payload["pullrequest"]["title"] = json!(EMBED_ADDING_TITLE);
    let (status, answer) = gateway.post_hook(
        endpoint["url"].as_str().unwrap(),
        "pullrequest:created",
        &payload.to_string(),
        endpoint["secret"].as_str(),
        &uuid(1),
    );
    assert_eq!(status, 202, "{answer}");
    let posted = receiver.wait_for_requests(1)[0].json();
    let embeds = posted["embeds"].as_array().unwrap();
    assert_eq!(embeds.len(), 1, "{posted}");
    assert_eq!(embeds[0]["title"], EMBED_ADDING_TITLE);
    assert!(
        !posted
            .to_string()
            .contains("\"url\":\"https://evil.example/login\"")
    );
}

/// The real binary as a child process with `config` (TOML), `env` and `umask`; the admin
/// token from `HOOKGATE_ADMIN_TOKEN` when `env` gives it, else the generated file.
fn start_child(
    folder: &Path,
    config: &str,
    env: &[(&str, &str)],
    umask: Option<&str>,
) -> ChildGateway {
    let mut settings = ChildGatewayConfig::new(
        GatewayProgram::binary(env!("CARGO_BIN_EXE_hookgate-e2e")),
        folder,
    );
    settings.config_toml = Some(config.to_string());
    settings.admin_token = env
        .iter()
        .find(|(name, _)| *name == "HOOKGATE_ADMIN_TOKEN")
        .map(|(_, token)| token.to_string());
    settings.rust_log = "info".into();
    settings.env = env
        .iter()
        .filter(|(name, _)| *name != "HOOKGATE_ADMIN_TOKEN")
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    settings.umask = umask.map(str::to_string);
    ChildGateway::start(settings)
}

/// Stops a child gateway and returns everything it logged.
fn stop(mut gateway: ChildGateway) -> String {
    gateway.kill_9();
    gateway.log()
}

/// Posts a signed push to an endpoint created with `body`.
fn post_push(gateway: &ChildGateway, body: Value) {
    let (status, endpoint) = gateway.api("POST", "/endpoints", Some(body));
    assert_eq!(status, 201, "{endpoint}");
    let push = fixture("repo_push.json");
    let response = reqwest::blocking::Client::new()
        .post(endpoint["url"].as_str().unwrap())
        .header("X-Event-Key", "repo:push")
        .header("X-Request-UUID", uuid(1))
        .header(
            "X-Hub-Signature",
            hookgate::verify::sign_hub_sha256(
                endpoint["secret"].as_str().unwrap(),
                push.as_bytes(),
            ),
        )
        .body(push)
        .send()
        .unwrap();
    assert_eq!(response.status(), 202);
}

/// The only delivery, once it is delivered or failed.
fn finished_delivery(gateway: &ChildGateway) -> Value {
    let mut delivery = Value::Null;
    wait_for("a finished delivery", Duration::from_secs(60), || {
        let (_, list) = gateway.api("GET", "/deliveries", None);
        delivery = list["items"][0].clone();
        delivery["status"] == "failed" || delivery["status"] == "delivered"
    });
    delivery
}

#[test]
fn proxy_variables_do_not_switch_the_address_check_off() {
    // The "proxy" would accept anything: had the gateway used it, the delivery would succeed.
    let proxy = CaptureReceiver::start();
    let receiver = CaptureReceiver::start();
    let folder = tempfile::tempdir().unwrap();
    let gateway = start_child(
        folder.path(),
        "[delivery]\nallow_private_destinations = false\nretry_schedule = [\"200ms\"]\n\
         [delivery.hosts]\n\"internal.test\" = [\"127.0.0.1\"]\n[plugins]\ntimeout_ms = 5000\n",
        &[
            ("HOOKGATE_ADMIN_TOKEN", ADMIN_TOKEN),
            ("HTTP_PROXY", &proxy.url),
            ("HTTPS_PROXY", &proxy.url),
            ("ALL_PROXY", &proxy.url),
            ("http_proxy", &proxy.url),
            ("https_proxy", &proxy.url),
            ("NO_PROXY", ""),
            ("no_proxy", ""),
        ],
        None,
    );
    let port = receiver.url.rsplit(':').next().unwrap();
    post_push(
        &gateway,
        json!({
            "name": "behind a proxy",
            "events": ["repo:push"],
            "format": {"template": "pushed"},
            "destinations": [{"kind": "webhook", "url": format!("http://internal.test:{port}/hook")}],
        }),
    );
    let delivery = finished_delivery(&gateway);
    assert_eq!(delivery["status"], "failed", "{delivery}");
    let error = delivery["attempts"][0]["error"].as_str().unwrap_or("");
    assert!(
        error.contains("destination refused: internal.test resolves to a private address"),
        "{delivery}"
    );
    assert!(
        proxy.captured().is_empty(),
        "the delivery went to the proxy"
    );
    assert!(receiver.captured().is_empty());
}

/// The console's CSRF field on a page.
fn csrf_of(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).expect("a CSRF field") + marker.len();
    page[start..].split('"').next().unwrap().to_string()
}

#[test]
fn a_debug_log_carries_no_console_secrets() {
    let receiver = CaptureReceiver::start();
    let folder = tempfile::tempdir().unwrap();
    // As verbose as an operator might ask, Handlebars included, and more specifically than
    // `handlebars=info` would be.
    let gateway = start_child(
        folder.path(),
        "[delivery]\nallow_private_destinations = true\n[plugins]\ntimeout_ms = 5000\n",
        &[
            ("HOOKGATE_ADMIN_TOKEN", ADMIN_TOKEN),
            (
                "RUST_LOG",
                "debug,wasmtime=info,cranelift=info,handlebars=trace,handlebars::render=trace,\
                 handlebars::helpers=trace",
            ),
        ],
        None,
    );
    let webhook_token = "Zx9-discord-webhook-token-5b1e8c";
    let discord_url = format!("{}/api/webhooks/1234/{webhook_token}", receiver.url);
    post_push(
        &gateway,
        json!({
            "name": "chat",
            "events": ["repo:push"],
            "format": {"template": "{{#if push}}pushed to {{repository.full_name}}{{/if}}"},
            "destinations": [{"notifier": "notifier", "kind": "discord", "url": discord_url}],
        }),
    );
    receiver.wait_for_requests(1);

    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let signed_in = client
        .post(format!("{}/ui/login", gateway.url))
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let (_, endpoints) = gateway.api("GET", "/endpoints", None);
    let id = endpoints["items"][0]["id"].as_str().unwrap().to_string();
    let mut csrf = String::new();
    for path in [
        "/ui/sources".to_string(),
        format!("/ui/sources/{id}"),
        "/ui/deliveries".into(),
    ] {
        let page = client
            .get(format!("{}{path}", gateway.url))
            .header("Cookie", &cookie)
            .send()
            .unwrap()
            .text()
            .unwrap();
        if csrf.is_empty() && page.contains("name=\"csrf\"") {
            csrf = csrf_of(&page);
        }
    }
    assert!(csrf.len() >= 20, "a CSRF token from the console: {csrf:?}");
    // A form posted with it (signing out), so the token also passes the CSRF check once.
    let signed_out = client
        .post(format!("{}/ui/logout", gateway.url))
        .header("Cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .unwrap();
    assert_eq!(
        signed_out.status(),
        303,
        "signed out with the session's CSRF token"
    );

    let log = stop(gateway);
    assert!(log.contains("DEBUG"), "the run logged at debug");
    let session = cookie.split_once('=').unwrap().1;
    for (name, secret) in [
        ("the CSRF token", csrf.as_str()),
        ("the Discord webhook token", webhook_token),
        ("the session cookie", session),
        ("the admin token", ADMIN_TOKEN),
    ] {
        assert!(!log.contains(secret), "{name} is in the log");
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn under_umask_000_the_data_folder_stays_private() {
    let folder = tempfile::tempdir().unwrap();
    let data_dir = folder.path().join("data");
    let config = "[plugins]\ntimeout_ms = 5000\n";
    let gateway = start_child(folder.path(), config, &[], Some("000"));
    let token_file = data_dir.join("admin-token");
    let modes = || {
        [
            (data_dir.clone(), 0o700),
            (data_dir.join("plugins"), 0o700),
            (data_dir.join("cache"), 0o700),
            (data_dir.join("hookgate.redb"), 0o600),
            (token_file.clone(), 0o600),
        ]
    };
    for (path, expected) in modes() {
        assert_eq!(mode(&path), expected, "{}", path.display());
    }
    let token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_string();
    stop(gateway);

    // Left open by hand (or by an earlier version): closed again at the next start, and an
    // admin-token file others could read is named in a warning, its token kept.
    for (path, _) in modes() {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let gateway = start_child(folder.path(), config, &[], Some("000"));
    for (path, expected) in modes() {
        assert_eq!(mode(&path), expected, "{}", path.display());
    }
    let (status, _) = GatewayClient::new(gateway.url.clone(), token).api("GET", "/endpoints", None);
    assert_eq!(status, 200, "the token is kept");
    let log = stop(gateway);
    assert!(
        log.contains("the admin-token file was mode 0644"),
        "a warning names the loose token file:\n{log}"
    );
}

/// A registry over `dir` whose drop-ins may be at most `max_file_bytes`.
fn registry_with_cap(dir: &Path, max_file_bytes: u64) -> std::sync::Arc<PluginRegistry> {
    let limits = PluginLimits {
        timeout: Duration::from_secs(10),
        dropin_file_bytes: max_file_bytes,
        ..PluginLimits::default()
    };
    let engine = PluginEngine::new(limits, None).unwrap();
    PluginRegistry::new(engine, &[], Some(dir.to_path_buf())).unwrap()
}

fn refusal_of(registry: &PluginRegistry, file: &str) -> String {
    let set = registry.snapshot();
    set.errors()
        .iter()
        .find(|error| error.file.file_name().is_some_and(|name| name == file))
        .map(|error| error.error.clone())
        .unwrap_or_else(|| panic!("{file} was not refused: {:?}", set.errors()))
}

#[test]
fn a_drop_in_past_the_size_cap_is_refused_before_it_is_read() {
    let folder = tempfile::tempdir().unwrap();
    let plugins = folder.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    // 400 MiB that take no disk (sparse): read whole, they would take 400 MiB of memory.
    let big = std::fs::File::create(plugins.join("big.wasm")).unwrap();
    big.set_len(400 * 1024 * 1024).unwrap();
    drop(big);
    std::fs::write(plugins.join("github.wasm"), plugin_bytes("github")).unwrap();
    let cap = 16 * 1024 * 1024;
    let registry = registry_with_cap(&plugins, cap);
    assert_eq!(
        refusal_of(&registry, "big.wasm"),
        format!(
            "is {} bytes; the limit is {cap} bytes ([plugins] max_file_mib = 16)",
            400 * 1024 * 1024
        )
    );
    assert!(
        registry.get("github").is_some(),
        "a file within the cap loads"
    );
}

#[test]
fn a_drop_in_link_out_of_the_plugins_folder_is_refused() {
    let folder = tempfile::tempdir().unwrap();
    let plugins = folder.path().join("plugins");
    std::fs::create_dir_all(plugins.join("versions")).unwrap();
    // A valid plugin outside the folder, and one in a folder of its own inside it.
    let outside: PathBuf = folder.path().join("elsewhere.wasm");
    std::fs::write(&outside, plugin_bytes("github")).unwrap();
    std::os::unix::fs::symlink(&outside, plugins.join("linked-out.wasm")).unwrap();
    std::os::unix::fs::symlink(
        "../plugins/../elsewhere.wasm",
        plugins.join("relative.wasm"),
    )
    .unwrap();
    std::fs::write(
        plugins.join("versions/gitlab-1.wasm"),
        plugin_bytes("gitlab"),
    )
    .unwrap();
    std::os::unix::fs::symlink("versions/gitlab-1.wasm", plugins.join("gitlab.wasm")).unwrap();
    let registry = registry_with_cap(&plugins, 64 * 1024 * 1024);
    for file in ["linked-out.wasm", "relative.wasm"] {
        let refusal = refusal_of(&registry, file);
        assert!(
            refusal.contains("outside the plugins folder"),
            "{file}: {refusal}"
        );
    }
    assert!(
        registry.get("github").is_none(),
        "nothing loaded from outside"
    );
    assert!(
        registry.get("gitlab").is_some(),
        "a link within the folder is followed"
    );
}
