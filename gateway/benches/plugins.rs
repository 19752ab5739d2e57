//! Plugin call cost: instantiate + call of each built-in on its real fixture, and the
//! bitbucket-pipelines mapping compiled natively for the WASM ÷ native ratio; plus a cold start
//! of the registry with a warm compile cache.
//!
//! `cargo bench -p hookgate --bench plugins`

use criterion::{Criterion, criterion_group, criterion_main};
use hookgate::builtin::BUILTIN_PLUGINS;
use hookgate::config::PluginLimits;
use hookgate::runtime::{
    Message, Notification, NotificationContext, PluginDestination, PluginEngine, PluginEvent,
    PluginRegistry,
};
use hookgate_plugin_sdk::{AlertMapper, Config, Event};
use std::hint::black_box;

const STATUS: &str =
    include_str!("../../plugins/bitbucket/samples/repo_commit_status_updated.json");
const PUSH: &str = include_str!("../../plugins/bitbucket/samples/repo_push.json");
const PR_CREATED: &str = include_str!("../../plugins/bitbucket/samples/pullrequest_created.json");

fn failed_status() -> String {
    STATUS.replace("\"state\": \"SUCCESSFUL\"", "\"state\": \"FAILED\"")
}

fn event(key: &str, body: &str) -> PluginEvent {
    PluginEvent {
        inbound_id: "in_bench".into(),
        endpoint_id: "ep_bench".into(),
        provider: "bitbucket".into(),
        event_key: key.into(),
        headers: vec![("x-event-key".into(), key.into())],
        body: body.into(),
        received_at: 1_700_000_000_000,
        attempt: 1,
    }
}

fn plugin_calls(c: &mut Criterion) {
    let engine = PluginEngine::new(PluginLimits::default(), None).unwrap();
    let registry = PluginRegistry::new(engine, BUILTIN_PLUGINS, None).unwrap();
    let set = registry.snapshot();
    let failed = event("repo:commit_status_updated", &failed_status());
    assert!(failed.body.contains("FAILED"));

    let mut group = c.benchmark_group("plugin_call");
    if let Some(mapper) = set.get("bitbucket-pipelines") {
        group.bench_function("bitbucket-pipelines/wasm", |b| {
            b.iter(|| black_box(mapper.map_event(black_box(&failed), "{}").unwrap()))
        });
    }
    if let Some(mapper) = set.get("bitbucket-pipelines") {
        // The fixed cost of a call: a fresh store and instance, a tiny event, an `ignore`.
        let minimal = event("repo:push", "{}");
        group.bench_function(
            "bitbucket-pipelines/wasm, empty body (call overhead)",
            |b| b.iter(|| black_box(mapper.map_event(black_box(&minimal), "{}").unwrap())),
        );
    }
    group.bench_function("bitbucket-pipelines/native", |b| {
        let config = Config::default();
        b.iter(|| {
            // What the component does per call: build the SDK event from the host's, map.
            let native = Event::new(failed.event_key.clone(), failed.body.clone());
            black_box(bitbucket_pipelines::Pipelines::map(black_box(&native), &config).unwrap())
        })
    });
    if let Some(embeds) = set.get("bitbucket-embeds") {
        let push = event("repo:push", PUSH);
        group.bench_function("bitbucket-embeds/repo:push", |b| {
            b.iter(|| black_box(embeds.format(black_box(&push), "{}").unwrap()))
        });
        let created = event("pullrequest:created", PR_CREATED);
        group.bench_function("bitbucket-embeds/pullrequest:created", |b| {
            b.iter(|| black_box(embeds.format(black_box(&created), "{}").unwrap()))
        });
        if let Some(notifier) = set.get("notifier") {
            let message: Message = embeds.format(&push, "{}").unwrap().unwrap();
            let notification = Notification::Message(message);
            let context = NotificationContext::default();
            let discord = PluginDestination {
                kind: "discord".into(),
                url: "https://discord.com/api/webhooks/1/x".into(),
                config: "{}".into(),
            };
            group.bench_function("notifier/discord", |b| {
                b.iter(|| black_box(notifier.notify(&notification, &context, &discord).unwrap()))
            });
        }
    }
    if let Some(provider) = set.get("bitbucket") {
        group.bench_function("bitbucket/describe (cached)", |b| {
            b.iter(|| black_box(provider.description().unwrap().events.len()))
        });
    }
    group.finish();
}

fn registry_cold_start(c: &mut Criterion) {
    let cache = tempfile::tempdir().unwrap();
    // Warm the compile cache once.
    {
        let engine = PluginEngine::new(PluginLimits::default(), Some(cache.path())).unwrap();
        PluginRegistry::new(engine, BUILTIN_PLUGINS, None).unwrap();
    }
    let mut group = c.benchmark_group("registry");
    group.sample_size(10);
    group.bench_function("cold start, warm cache", |b| {
        b.iter(|| {
            let engine = PluginEngine::new(PluginLimits::default(), Some(cache.path())).unwrap();
            black_box(PluginRegistry::new(engine, BUILTIN_PLUGINS, None).unwrap())
        })
    });
    group.bench_function("cold start, no cache", |b| {
        b.iter(|| {
            let engine = PluginEngine::new(PluginLimits::default(), None).unwrap();
            black_box(PluginRegistry::new(engine, BUILTIN_PLUGINS, None).unwrap())
        })
    });
    group.finish();
}

criterion_group!(benches, plugin_calls, registry_cold_start);
criterion_main!(benches);
