//! The console by role: users sign in with their email and password, see who they are, and
//! may post exactly the forms their role allows.

use super::{PASSWORD, fill, user};
use crate::console::{csrf_of, http, signed_in_page};
use hookgate::oncall::Role;
use hookgate_tests::commit_status_payload;
use hookgate_tests::harness::{TestGateway, wait_for};
use reqwest::blocking::Client;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

/// Signs in to the console with an email and password; the session cookie as a `Cookie`
/// header value.
pub(super) fn console_sign_in(client: &Client, base: &str, email: &str, password: &str) -> String {
    let answer = client
        .post(format!("{base}/ui/login"))
        .form(&[("email", email), ("password", password)])
        .send()
        .unwrap();
    assert_eq!(answer.status(), 303, "signing in as {email}");
    let cookie = answer.headers()["set-cookie"].to_str().unwrap().to_string();
    cookie.split(';').next().unwrap().to_string()
}

/// The login page's refusal sentence.
fn login_error(page: &str) -> String {
    let marker = "id=\"login-error\">";
    let start = page.find(marker).expect("a refusal") + marker.len();
    page[start..start + page[start..].find('<').unwrap()].to_string()
}

#[test]
fn console_users_sign_in_with_their_password_and_act_by_their_role() {
    let gateway = TestGateway::start(|config| config.http.auth_failures_per_minute = 0);
    let base = gateway.url.clone();
    user(&gateway, "Vera Viewer", "vera@example.com", "viewer");
    let rob = user(&gateway, "Rob Responder", "rob@example.com", "responder");
    let endpoint = gateway.create_endpoint(json!({
        "name": "pipes",
        "events": ["repo:commit_status_updated"],
        "alerts": {"plugin": "bitbucket-pipelines"},
    }));
    let (status, _) = gateway.post_hook(
        endpoint["url"].as_str().unwrap(),
        "repo:commit_status_updated",
        &commit_status_payload("FAILED"),
        endpoint["secret"].as_str(),
        "00000000-0000-4000-8000-000000000001",
    );
    assert_eq!(status, 202);
    let mut alert = String::new();
    wait_for("the alert", Duration::from_secs(30), || {
        let items = gateway.api_ok("GET", "/alerts", None)["items"].clone();
        alert = items[0]["id"].as_str().unwrap_or("").to_string();
        !alert.is_empty()
    });
    let client = http();

    // A viewer reads every page, is shown as themselves, and cannot act.
    let viewer = console_sign_in(&client, &base, "vera@example.com", PASSWORD);
    let page = signed_in_page(&client, format!("{base}/ui/alerts/{alert}"), &viewer);
    assert!(page.contains("Vera Viewer · viewer"), "{page}");
    assert!(
        !page.contains("data-action=\"ack\""),
        "no buttons a viewer cannot use"
    );
    assert!(!page.contains(PASSWORD));
    let csrf = csrf_of(&page);
    for path in ["/sources", "/inbound", "/alerts", "/deliveries", "/plugins"] {
        let response = client
            .get(format!("{base}/ui{path}"))
            .header("Cookie", &viewer)
            .send()
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    let refused = client
        .post(format!("{base}/ui/alerts/{alert}/ack"))
        .header("Cookie", &viewer)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .unwrap();
    assert_eq!(refused.status(), 403);
    let text = refused.text().unwrap();
    assert!(
        text.contains("this needs the responder role; you are a viewer"),
        "{text}"
    );
    assert_eq!(
        gateway.api_ok("GET", &format!("/alerts/{alert}"), None)["state"],
        "open"
    );

    // A responder acknowledges, and the alert names them; the admin's forms are not theirs.
    let responder = console_sign_in(&client, &base, "Rob@Example.com", PASSWORD);
    let page = signed_in_page(&client, format!("{base}/ui/alerts/{alert}"), &responder);
    assert!(page.contains("Rob Responder · responder"), "{page}");
    assert!(page.contains("data-action=\"ack\""), "{page}");
    let csrf = csrf_of(&page);
    let acknowledged = client
        .post(format!("{base}/ui/alerts/{alert}/ack"))
        .header("Cookie", &responder)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .unwrap();
    assert_eq!(acknowledged.status(), 303);
    let shown = gateway.api_ok("GET", &format!("/alerts/{alert}"), None);
    assert_eq!(shown["state"], "acknowledged");
    assert_eq!(shown["acknowledged_by"], rob.as_str());
    let page = signed_in_page(&client, format!("{base}/ui/alerts/{alert}"), &responder);
    assert!(page.contains("by Rob Responder"), "{page}");
    // Every other console form needs an admin: a viewer may post none of them, a responder
    // only the alert actions.
    let viewer_csrf = csrf_of(&signed_in_page(
        &client,
        format!("{base}/ui/alerts"),
        &viewer,
    ));
    let mut console_forms = 0;
    for (method, path) in hookgate::http::mounted_routes() {
        if method != "POST"
            || !path.starts_with("/ui/")
            || ["/ui/login", "/ui/logout"].contains(&path.as_str())
        {
            continue;
        }
        console_forms += 1;
        for (cookie, csrf, role) in [
            (&viewer, &viewer_csrf, Role::Viewer),
            (&responder, &csrf, Role::Responder),
        ] {
            let status = client
                .post(format!("{base}{}", fill(&path, "x1")))
                .header("Cookie", cookie)
                .form(&[("csrf", csrf.as_str())])
                .send()
                .unwrap()
                .status();
            let alert_action = path.starts_with("/ui/alerts/");
            if role == Role::Responder && alert_action {
                assert_eq!(status, 404, "{role:?}: POST {path}");
            } else {
                assert_eq!(status, 403, "{role:?}: POST {path}");
            }
        }
    }
    assert!(console_forms >= 10, "{console_forms}");
    // A role change reaches a console session at once.
    gateway.api_ok(
        "PATCH",
        &format!("/users/{rob}"),
        Some(json!({"role": "viewer"})),
    );
    let refused = client
        .post(format!("{base}/ui/alerts/{alert}/close"))
        .header("Cookie", &responder)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .unwrap();
    assert_eq!(refused.status(), 403);

    // The admin token still signs in, as the admin.
    let admin = crate::console::sign_in(&gateway);
    let page = signed_in_page(&client, format!("{base}/ui/alerts"), &admin);
    assert!(page.contains("admin · admin"), "{page}");

    // One refusal whether the email exists or not, and none for a user without a password.
    gateway.api_ok(
        "POST",
        "/users",
        Some(json!({"name": "Nopass", "email": "nopass@example.com", "role": "admin"})),
    );
    let mut refusals = BTreeSet::new();
    for (email, password) in [
        ("vera@example.com", "wrong-password"),
        ("nobody@example.com", PASSWORD),
        ("nopass@example.com", PASSWORD),
    ] {
        let response = client
            .post(format!("{base}/ui/login"))
            .form(&[("email", email), ("password", password)])
            .send()
            .unwrap();
        assert_eq!(response.status(), 401, "{email}");
        assert!(response.headers().get("set-cookie").is_none());
        refusals.insert(login_error(&response.text().unwrap()));
    }
    assert_eq!(refusals.len(), 1, "{refusals:?}");
}
