//! Property tests over what outsiders control: signature headers, the SDK's JSON paths and key
//! templates, Handlebars templates, and whole requests to the ingest handler. Each asserts no
//! panic, bounded output, and the right answer where there is an oracle (sign then verify,
//! wrong key refused, escapes round-trip, one inbound record per request).
//!
//! The seed is fixed so CI runs the same cases every time; `PROPTEST_CASES=100000` and
//! `PROPTEST_RNG_SEED=<n>` run more or other cases (see RELIABILITY.md).

use crate::gateway::uuid;
use hookgate::runtime::{DigestEncoding, HmacAlgorithm, SignatureScheme};
use hookgate::template::{MAX_OUTPUT_BYTES, render_value};
use hookgate::verify::{
    SignatureError, sign_hub_sha256, sign_standard_webhooks, verify, verify_hmac,
    verify_standard_webhooks,
};
use hookgate_plugin_sdk::{JsonPath, render_template, truncate};
use hookgate_tests::fixture;
use hookgate_tests::harness::TestGateway;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use serde_json::{Value, json};
use std::cell::Cell;

/// `cases` (unless `PROPTEST_CASES` says otherwise) from a fixed seed (unless
/// `PROPTEST_RNG_SEED` says otherwise); failures are reported, not saved to files.
fn config(cases: u32) -> Config {
    let mut config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = RngSeed::Fixed(0x686f_6f6b_6761_7465);
    }
    config
}

/// Any JSON: scalars, and arrays and objects nested a few levels, with keys that contain the
/// path separators.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|number| json!(number)),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z0-9.^ ]{0,4}", inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

const ALGORITHMS: [HmacAlgorithm; 3] = [
    HmacAlgorithm::Sha1,
    HmacAlgorithm::Sha256,
    HmacAlgorithm::Sha512,
];

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn hub_signatures_verify_and_a_wrong_key_or_body_is_refused(
        secret in ".{1,40}",
        other_secret in ".{1,40}",
        body in prop::collection::vec(any::<u8>(), 0..2048),
        flip in any::<prop::sample::Index>(),
    ) {
        let header = sign_hub_sha256(&secret, &body);
        let check = |secret: &str, body: &[u8]| {
            verify_hmac(HmacAlgorithm::Sha256, DigestEncoding::Hex, "sha256=", secret.as_bytes(), body, &header)
        };
        prop_assert_eq!(check(&secret, &body), Ok(()));
        if other_secret != secret {
            prop_assert_eq!(check(&other_secret, &body), Err(SignatureError::Mismatch));
        }
        if !body.is_empty() {
            let mut tampered = body.clone();
            tampered[flip.index(body.len())] ^= 0x01;
            prop_assert_eq!(check(&secret, &tampered), Err(SignatureError::Mismatch));
        }
    }

    #[test]
    fn any_signature_header_is_answered_without_panic(
        value in prop_oneof![
            ".{0,200}",
            "sha(1|256|512)=[0-9a-fA-F]{0,140}",
            "[A-Za-z0-9+/=]{0,100}",
            // Empty and prefix-only headers: the edges a parser slices past.
            Just(String::new()),
            Just("sha256=".to_string()),
            " {0,3}",
        ],
        prefix in prop_oneof![Just(String::new()), Just("sha256=".to_string()), ".{0,8}"],
        secret in ".{0,40}",
        body in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        for algorithm in ALGORITHMS {
            for encoding in [DigestEncoding::Hex, DigestEncoding::Base64] {
                let scheme = SignatureScheme::Hmac {
                    header: "x-signature".into(),
                    prefix: prefix.clone(),
                    algorithm,
                    encoding,
                };
                // A random header matching a real HMAC is a 2^-160 event: refused.
                let answer = verify(&scheme, &secret, &body, |_| Some(value.as_str()), 0);
                prop_assert_eq!(answer, Err(SignatureError::Mismatch));
                let missing = verify(&scheme, &secret, &body, |_| None, 0);
                prop_assert_eq!(missing, Err(SignatureError::Missing));
            }
        }
        let token = SignatureScheme::Token { header: "x-token".into() };
        let expected = if value == secret { Ok(()) } else { Err(SignatureError::Mismatch) };
        prop_assert_eq!(verify(&token, &secret, &body, |_| Some(value.as_str()), 0), expected);
    }

    #[test]
    fn standard_webhooks_sign_then_verify_and_refuse_wrong_keys_and_odd_timestamps(
        key in prop::collection::vec(any::<u8>(), 1..48),
        id in "[ -~]{0,40}",
        body in prop::collection::vec(any::<u8>(), 0..1024),
        now in 0i64..4_000_000_000,
        skew in -300i64..=300,
        timestamp in prop_oneof![
            any::<i64>().prop_map(|t| t.to_string()),
            Just(i64::MIN.to_string()),
            Just(i64::MAX.to_string()),
            ".{0,24}",
        ],
        signatures in ".{0,300}",
    ) {
        use base64::Engine as _;
        let secret = format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(&key));
        let sent_at = now + skew;
        let signature = sign_standard_webhooks(&secret, &id, sent_at, &body);
        let rotated = format!("v1,bm90IHRoaXMgb25l {signature}");
        prop_assert_eq!(
            verify_standard_webhooks(&secret, &id, &sent_at.to_string(), &body, &rotated, now),
            Ok(())
        );
        let wrong_key = format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode([&key[..], b"x"].concat()));
        prop_assert_eq!(
            verify_standard_webhooks(&wrong_key, &id, &sent_at.to_string(), &body, &signature, now),
            Err(SignatureError::Mismatch)
        );
        // A right signature on a timestamp past the five-minute tolerance, either side: stale.
        let stale_at = if skew < 0 { now - 301 + skew } else { now + 301 + skew };
        let stale = sign_standard_webhooks(&secret, &id, stale_at, &body);
        prop_assert_eq!(
            verify_standard_webhooks(&secret, &id, &stale_at.to_string(), &body, &stale, now),
            Err(SignatureError::Stale)
        );
        // Random timestamps and signature lists: refused, never a panic (i64::MIN included).
        let answer = verify_standard_webhooks(&secret, &id, &timestamp, &body, &signatures, now);
        prop_assert!(answer.is_err());
    }

    #[test]
    fn json_paths_never_panic_and_find_what_is_there(
        document in json_value(),
        path in "[a-z0-9.^ ]{0,16}",
    ) {
        let _ = document.lookup(&path);
        let _ = document.str_at(&path);
        // Oracle: walking down to any value and joining the keys with `^` finds that value.
        let mut segments = Vec::new();
        let mut at = &document;
        loop {
            let next = match at {
                Value::Object(map) => map
                    .iter()
                    .find(|(key, _)| !key.is_empty() && !key.contains('^'))
                    .map(|(key, value)| (key.clone(), value)),
                Value::Array(items) => items.first().map(|value| ("0".to_string(), value)),
                _ => None,
            };
            let Some((segment, value)) = next else { break };
            segments.push(segment);
            at = value;
        }
        if !segments.is_empty() {
            // A caret in the path makes `^` the only separator, so dotted keys stay whole.
            let path = format!("^{}", segments.join("^"));
            prop_assert_eq!(document.lookup(&path), Some(at));
        }
    }

    #[test]
    fn key_templates_never_panic_and_escapes_round_trip(
        document in json_value(),
        template in "[a-z{}|.^ 0-9]{0,40}",
        text in ".{0,40}",
    ) {
        let _ = render_template(&template, &document);
        let escaped = text.replace('{', "{{").replace('}', "}}");
        prop_assert_eq!(render_template(&escaped, &document).unwrap(), text.clone());
        let cut = truncate(&text, 7);
        prop_assert!(cut.chars().count() <= 8);
        prop_assert!(text.starts_with(cut.trim_end_matches('…')));
    }
}

/// Template pieces an attacker would combine: loops over loops, partials that include
/// themselves, deep nesting, lookups, raw blocks, stray braces.
fn hostile_template() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("{{#each items}}"),
        Just("{{#each ../items}}"),
        Just("{{/each}}"),
        Just("{{#if flag}}"),
        Just("{{else}}"),
        Just("{{/if}}"),
        Just("{{#with nested}}"),
        Just("{{/with}}"),
        Just("{{> p}}"),
        Just("{{#*inline \"p\"}}"),
        Just("{{/inline}}"),
        Just("{{#> p}}x{{/p}}"),
        Just("{{this}}"),
        Just("{{long}}"),
        Just("{{../long}}"),
        Just("{{lookup items 1}}"),
        Just("{{lookup (lookup nested \"inner\") 0}}"),
        Just("{{@index}}"),
        Just("{{{{raw}}}}{{x}}{{{{/raw}}}}"),
        Just("{{log long}}"),
        Just("{{"),
        Just("}}"),
        Just("text "),
    ];
    prop::collection::vec(piece, 0..48).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn hostile_handlebars_templates_end_with_bounded_output(
        template in hostile_template(),
        items in 0usize..400,
        long in 0usize..20_000,
        flag in any::<bool>(),
    ) {
        let data = json!({
            "items": (0..items).collect::<Vec<_>>(),
            "long": "l".repeat(long),
            "flag": flag,
            "nested": {"inner": ["a", "b"]},
        });
        match render_value(&template, &data) {
            Ok(text) => prop_assert!(text.len() <= MAX_OUTPUT_BYTES),
            Err(reason) => prop_assert!(reason.starts_with("template"), "{reason}"),
        }
    }
}

/// A header a sender might send, or noise.
fn header() -> impl Strategy<Value = (String, String)> {
    let name = prop_oneof![
        Just("x-event-key".to_string()),
        Just("x-hub-signature".to_string()),
        Just("content-type".to_string()),
        Just("x-request-uuid".to_string()),
        Just("x-attempt-number".to_string()),
        Just("content-encoding".to_string()),
        Just("authorization".to_string()),
        "x-[a-z0-9-]{1,20}",
    ];
    let value = prop_oneof![
        Just("repo:push".to_string()),
        Just("application/json".to_string()),
        Just("gzip".to_string()),
        "[ -~]{0,60}",
    ];
    (name, value)
}

/// What one fuzzed request does.
#[derive(Debug, Clone)]
struct FuzzRequest {
    method: String,
    /// 0: the endpoint's URL, 1: an unknown endpoint, 2: below the endpoint's URL.
    target: u8,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Sign the body with the endpoint's secret (else only what `headers` carries).
    signed: bool,
}

fn fuzz_request() -> impl Strategy<Value = FuzzRequest> {
    let method = prop_oneof![
        4 => Just("POST".to_string()),
        1 => Just("GET".to_string()),
        1 => Just("PUT".to_string()),
        1 => Just("DELETE".to_string()),
        1 => Just("OPTIONS".to_string()),
        // CONNECT is a proxy tunnel, not a request the client can send to a path.
        1 => "[A-Z]{1,10}".prop_filter("not CONNECT", |method| method != "CONNECT"),
    ];
    let body = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..4096),
        ".{0,512}".prop_map(String::into_bytes),
        Just(fixture("repo_push.json").into_bytes()),
        Just(b"{\"a\":".repeat(200)),
    ];
    // Most requests are signed and name an event, so they get past the signature check to
    // the body's checks (UTF-8, JSON) instead of stopping at the first refusal.
    let event_key = prop::option::weighted(
        0.8,
        prop_oneof![Just("repo:push".to_string()), "[ -~]{0,30}"],
    );
    (
        method,
        prop_oneof![3 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
        event_key,
        prop::collection::vec(header(), 0..8),
        body,
        prop::bool::weighted(0.8),
    )
        .prop_map(|(method, target, event_key, mut headers, body, signed)| {
            if let Some(event_key) = event_key {
                headers.insert(0, ("x-event-key".to_string(), event_key));
            }
            FuzzRequest {
                method,
                target,
                headers,
                body,
                signed,
            }
        })
}

#[test]
fn the_ingest_handler_answers_any_request_with_a_status_and_a_reason() {
    let gateway = TestGateway::start(|_| {});
    let endpoint = gateway.create_endpoint(json!({"name": "fuzzed", "events": "all"}));
    let url = endpoint["url"].as_str().unwrap().to_string();
    let secret = endpoint["secret"].as_str().unwrap().to_string();
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap();
    // The runner takes a `Fn`: the counts live in cells.
    let recorded_requests = Cell::new(0u64);
    let sent = Cell::new(0usize);
    let mut runner = proptest::test_runner::TestRunner::new(config(160));
    runner
        .run(&fuzz_request(), |request| {
            sent.set(sent.get() + 1);
            let target = match request.target {
                0 => url.clone(),
                1 => format!("{}/hooks/no-such-endpoint", gateway.url),
                _ => format!("{url}/below"),
            };
            let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap();
            let mut builder = client
                .request(method.clone(), &target)
                .body(request.body.clone());
            for (name, value) in &request.headers {
                builder = builder.header(name, value);
            }
            builder = builder.header("x-request-uuid", uuid(sent.get()));
            if request.signed {
                builder =
                    builder.header("x-hub-signature", sign_hub_sha256(&secret, &request.body));
            }
            let response = builder.send().expect("the gateway answers");
            let status = response.status().as_u16();
            let text = response.text().unwrap_or_default();
            prop_assert!(status < 500 || status == 503, "{status}: {text}");
            let reaches_handler = request.target == 0 && method == reqwest::Method::POST;
            if reaches_handler {
                recorded_requests.set(recorded_requests.get() + 1);
                let answer: Value = serde_json::from_str(&text)
                    .map_err(|error| TestCaseError::fail(format!("{status} {text:?}: {error}")))?;
                if status >= 400 {
                    prop_assert!(
                        answer["error"]
                            .as_str()
                            .is_some_and(|reason| !reason.is_empty()),
                        "{answer}"
                    );
                } else {
                    prop_assert_eq!(status, 202, "{}", answer);
                }
            } else {
                prop_assert!(
                    (400..500).contains(&status),
                    "{} {}: {}",
                    request.method,
                    target,
                    status
                );
            }
            Ok(())
        })
        .unwrap();
    // Every request that reached the handler left exactly one inbound record.
    let (_, page) = gateway.api("GET", "/inbound?limit=500", None);
    let stored = page["items"].as_array().unwrap().len() as u64;
    assert_eq!(stored, recorded_requests.get());
    let (status, _) = gateway.api("GET", "/endpoints", None);
    assert_eq!(status, 200, "the gateway still serves");
}
