//! One HTTP client for a running gateway, wherever it runs: the admin API, webhooks posted as
//! Bitbucket posts them, readiness and `/metrics`.

use super::wait_for;
use serde_json::Value;
use std::time::Duration;

/// Talks to a gateway at `url` with an admin token.
#[derive(Clone)]
pub struct GatewayClient {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    token: String,
    http: reqwest::blocking::Client,
}

impl GatewayClient {
    /// A client whose requests give up after 30 s.
    pub fn new(url: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            token: token.into(),
            http: http_client(Duration::from_secs(30)),
        }
    }

    /// The same gateway, with requests that give up after `timeout`.
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        Self {
            http: http_client(timeout),
            ..self.clone()
        }
    }

    /// The admin token it sends.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// An admin API call; returns the status and the answer's text.
    pub fn api_text(&self, method: &str, path: &str, body: Option<Value>) -> (u16, String) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("HTTP method");
        let mut request = self
            .http
            .request(method, format!("{}/api/v1{path}", self.url))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().expect("API request");
        let status = response.status().as_u16();
        (status, response.text().unwrap_or_default())
    }

    /// An admin API call; returns the status and the JSON answer (a JSON string of the text
    /// when it is not JSON).
    pub fn api(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let (status, text) = self.api_text(method, path, body);
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// An admin API call that must succeed (2xx); returns its JSON answer.
    pub fn api_ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, answer) = self.api(method, path, body);
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {answer}"
        );
        answer
    }

    /// Every item of a list route (`/inbound`, `/alerts`, `/deliveries`), newest first,
    /// following its cursor.
    pub fn all(&self, path: &str) -> Vec<Value> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = match &cursor {
                Some(before) => self.api_ok(
                    "GET",
                    &format!("{path}{separator}limit=500&before={before}"),
                    None,
                ),
                None => self.api_ok("GET", &format!("{path}{separator}limit=500"), None),
            };
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => return items,
            }
        }
    }

    /// How many items a list route answers with (at most its `limit`).
    pub fn count(&self, path_and_query: &str) -> usize {
        self.api_ok("GET", path_and_query, None)["items"]
            .as_array()
            .map_or(0, Vec::len)
    }

    /// Creates an endpoint; returns its answer (with `id`, `url`, `secret`).
    pub fn create_endpoint(&self, body: Value) -> Value {
        let (status, answer) = self.api("POST", "/endpoints", Some(body));
        assert_eq!(status, 201, "creating the endpoint: {answer}");
        answer
    }

    /// Posts a webhook as Bitbucket does, signed with `secret` when given; `Err` when no answer
    /// came (the gateway is down).
    pub fn try_post_hook(
        &self,
        endpoint_url: &str,
        event_key: &str,
        body: &str,
        secret: Option<&str>,
        request_uuid: &str,
    ) -> reqwest::Result<reqwest::blocking::Response> {
        let mut request = self
            .http
            .post(endpoint_url)
            .header("Content-Type", "application/json")
            .header("User-Agent", "Bitbucket-Webhooks/2.0")
            .header("X-Event-Key", event_key)
            .header("X-Request-UUID", request_uuid)
            .header("X-Attempt-Number", "1")
            .header("X-Hook-UUID", "81424cfd-6ea3-47d0-bb73-ae76bb3fb3a0")
            .body(body.to_string());
        if let Some(secret) = secret {
            request = request.header(
                "X-Hub-Signature",
                hookgate::verify::sign_hub_sha256(secret, body.as_bytes()),
            );
        }
        request.send()
    }

    /// [`Self::try_post_hook`], which must be answered; returns the status and JSON answer.
    pub fn post_hook(
        &self,
        endpoint_url: &str,
        event_key: &str,
        body: &str,
        secret: Option<&str>,
        request_uuid: &str,
    ) -> (u16, Value) {
        let response = self
            .try_post_hook(endpoint_url, event_key, body, secret, request_uuid)
            .expect("posting the webhook");
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }

    /// Posts a webhook with exactly these headers (and `Content-Type: application/json`);
    /// returns the status and the JSON answer.
    pub fn post_raw(
        &self,
        endpoint_url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Value) {
        let mut request = self
            .http
            .post(endpoint_url)
            .header("Content-Type", "application/json")
            .body(body.to_vec());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().expect("posting the webhook");
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }

    /// Waits until the inbound record is no longer pending and returns it in full.
    pub fn processed(&self, inbound_id: &str) -> Value {
        let mut record = Value::Null;
        wait_for(
            "the record to be processed",
            Duration::from_secs(30),
            || {
                record = self.api("GET", &format!("/inbound/{inbound_id}"), None).1;
                record["status"] != "pending"
            },
        );
        record
    }

    /// The status `GET /readyz` answers, or `None` when nothing answers.
    pub fn ready_status(&self) -> Option<u16> {
        self.http
            .get(format!("{}/readyz", self.url))
            .send()
            .ok()
            .map(|response| response.status().as_u16())
    }

    /// `GET /metrics` as text (empty when nothing answers).
    pub fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.url))
            .send()
            .and_then(|response| response.text())
            .unwrap_or_default()
    }

    /// Inbound records waiting for processing (`hookgate_queue_depth`), if it answers.
    pub fn queue_depth(&self) -> Option<u64> {
        self.metrics()
            .lines()
            .find_map(|line| line.strip_prefix("hookgate_queue_depth "))
            .and_then(|value| value.trim().parse().ok())
    }

    /// Whether any delivery is still pending or retrying.
    pub fn deliveries_unsettled(&self) -> bool {
        ["pending", "retrying"]
            .iter()
            .any(|status| self.count(&format!("/deliveries?status={status}&limit=1")) > 0)
    }

    /// Nothing queued and every delivery delivered or failed for good.
    pub fn settled(&self) -> bool {
        self.queue_depth() == Some(0) && !self.deliveries_unsettled()
    }
}

fn http_client(timeout: Duration) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(timeout)
        .build()
        .expect("HTTP client")
}
