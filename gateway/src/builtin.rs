//! The four built-in plugins, compiled into the binary. `build.rs` builds them from
//! `plugins/*` for wasm32-wasip2 and this module embeds the resulting components.

use crate::runtime::BuiltinPlugin;

/// The built-in plugins, in load order.
pub const BUILTIN_PLUGINS: &[BuiltinPlugin] = &[
    BuiltinPlugin {
        file_name: "bitbucket.wasm",
        bytes: include_bytes!(concat!(env!("HOOKGATE_PLUGIN_DIR"), "/bitbucket.wasm")),
    },
    BuiltinPlugin {
        file_name: "bitbucket_pipelines.wasm",
        bytes: include_bytes!(concat!(
            env!("HOOKGATE_PLUGIN_DIR"),
            "/bitbucket_pipelines.wasm"
        )),
    },
    BuiltinPlugin {
        file_name: "bitbucket_embeds.wasm",
        bytes: include_bytes!(concat!(
            env!("HOOKGATE_PLUGIN_DIR"),
            "/bitbucket_embeds.wasm"
        )),
    },
    BuiltinPlugin {
        file_name: "notifier.wasm",
        bytes: include_bytes!(concat!(env!("HOOKGATE_PLUGIN_DIR"), "/notifier.wasm")),
    },
];
