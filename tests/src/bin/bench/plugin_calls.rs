//! P3: the cost of one plugin call as the gateway makes it (fresh store, instantiation from the
//! pre-linked component, lowering the event, the call, lifting the result), per built-in, and
//! the mapper compiled natively for the WASM ÷ native ratio.

use hookgate::builtin::BUILTIN_PLUGINS;
use hookgate::config::PluginLimits;
use hookgate::runtime::{
    Notification, NotificationContext, PluginDestination, PluginEngine, PluginRegistry,
};
use hookgate_plugin_sdk::{AlertMapper, Config, Event};
use hookgate_tests::{commit_status_payload, event, fixture};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Calls timed per measure (after as many warm-up calls).
const CALLS: usize = 3000;

/// One measured call kind.
pub struct CallTime {
    pub name: &'static str,
    pub median: Duration,
    pub p99: Duration,
}

/// Median and p99 of `CALLS` timed calls of `call`.
fn time(name: &'static str, mut call: impl FnMut()) -> CallTime {
    for _ in 0..CALLS {
        call();
    }
    let mut times: Vec<Duration> = (0..CALLS)
        .map(|_| {
            let started = Instant::now();
            call();
            started.elapsed()
        })
        .collect();
    times.sort_unstable();
    CallTime {
        name,
        median: times[CALLS / 2],
        p99: times[CALLS * 99 / 100],
    }
}

/// Every built-in's call, the native mapper, and the call overhead (an empty body).
pub fn measure() -> Vec<CallTime> {
    let engine = PluginEngine::new(PluginLimits::default(), None).expect("engine");
    let registry = PluginRegistry::new(engine, BUILTIN_PLUGINS, None).expect("built-ins");
    let plugins = registry.snapshot();
    let plugin = |name: &str| {
        plugins
            .get(name)
            .unwrap_or_else(|| panic!("built-in {name} is not loaded"))
    };
    let (mapper, embeds, notifier, provider) = (
        plugin("bitbucket-pipelines"),
        plugin("bitbucket-embeds"),
        plugin("notifier"),
        plugin("bitbucket"),
    );
    let failed = event(
        "repo:commit_status_updated",
        &commit_status_payload("FAILED"),
    );
    let push = event("repo:push", &fixture("repo_push.json"));
    let pull_request = event("pullrequest:created", &fixture("pullrequest_created.json"));
    let empty = event("repo:push", "{}");
    let message = embeds
        .format(&push, "{}")
        .expect("embeds formats the push")
        .expect("a message for the push");
    let notification = Notification::Message(message);
    let context = NotificationContext::default();
    let discord = PluginDestination {
        kind: "discord".into(),
        url: "https://discord.com/api/webhooks/1/x".into(),
        config: "{}".into(),
    };
    let native_config = Config::default();
    vec![
        time("bitbucket-pipelines (mapper), commit status FAILED", || {
            black_box(mapper.map_event(black_box(&failed), "{}").expect("map"));
        }),
        time("same mapping compiled natively", || {
            let native = Event::new(failed.event_key.clone(), failed.body.clone());
            black_box(
                bitbucket_pipelines::Pipelines::map(black_box(&native), &native_config)
                    .expect("native map"),
            );
        }),
        time("call overhead: mapper on an empty body", || {
            black_box(mapper.map_event(black_box(&empty), "{}").expect("map"));
        }),
        time("bitbucket-embeds (formatter), repo:push", || {
            black_box(embeds.format(black_box(&push), "{}").expect("format"));
        }),
        time("bitbucket-embeds (formatter), pullrequest:created", || {
            black_box(
                embeds
                    .format(black_box(&pull_request), "{}")
                    .expect("format"),
            );
        }),
        time("notifier, Discord request for the push", || {
            black_box(
                notifier
                    .notify(&notification, &context, &discord)
                    .expect("notify"),
            );
        }),
        time("bitbucket (provider) description, cached", || {
            black_box(provider.description().expect("description").events.len());
        }),
        // What processing a pushed record does: each plugin in turn, so a pool that keeps no
        // slot warm for a plugin maps its memory again on every call.
        time("mapper, formatter and notifier in turn (one each)", || {
            black_box(mapper.map_event(black_box(&failed), "{}").expect("map"));
            black_box(embeds.format(black_box(&push), "{}").expect("format"));
            black_box(
                notifier
                    .notify(&notification, &context, &discord)
                    .expect("notify"),
            );
        }),
    ]
}

/// This process's resident memory now and at its peak, bytes (`VmRSS`, `VmHWM`).
pub fn own_rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map_or(0, |kib| kib * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
