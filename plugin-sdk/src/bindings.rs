//! The generated ABI of `hookgate:plugin@0.2.0` (`wit/`), one module per world. Plugin authors
//! never use this module: the traits and `export_*!` macros of the crate root wrap it. The four
//! worlds share the `types` and `log` interfaces through `with`, so each WIT type exists once in
//! Rust. `wit/deps/` holds the frozen 0.1.0 package too, so wit-bindgen names the package's
//! module with its version (`plugin0_2_0`); the SDK builds for 0.2.0 only.
//!
//! Each world's `export` macro is public and carries that world's type information; wit-bindgen
//! emits the exports section only where the macro is invoked, so a plugin built with this crate
//! becomes a component of exactly the world it exports.

#![allow(missing_docs, clippy::all)]

pub mod provider {
    wit_bindgen::generate!({
        world: "provider",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "export_provider_world",
        default_bindings_module: "::hookgate_plugin_sdk::__private::bindings::provider",
        runtime_path: "::hookgate_plugin_sdk::__private::wit_bindgen::rt",
        generate_unused_types: true,
    });
}

pub mod alert_mapper {
    wit_bindgen::generate!({
        world: "alert-mapper",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "export_alert_mapper_world",
        default_bindings_module: "::hookgate_plugin_sdk::__private::bindings::alert_mapper",
        runtime_path: "::hookgate_plugin_sdk::__private::wit_bindgen::rt",
        with: {
            "hookgate:plugin/types@0.2.0": crate::bindings::provider::hookgate::plugin0_2_0::types,
            "hookgate:plugin/log@0.2.0": crate::bindings::provider::hookgate::plugin0_2_0::log,
        },
    });
}

pub mod formatter {
    wit_bindgen::generate!({
        world: "formatter",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "export_formatter_world",
        default_bindings_module: "::hookgate_plugin_sdk::__private::bindings::formatter",
        runtime_path: "::hookgate_plugin_sdk::__private::wit_bindgen::rt",
        with: {
            "hookgate:plugin/types@0.2.0": crate::bindings::provider::hookgate::plugin0_2_0::types,
            "hookgate:plugin/log@0.2.0": crate::bindings::provider::hookgate::plugin0_2_0::log,
        },
    });
}

pub mod notifier {
    wit_bindgen::generate!({
        world: "notifier",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "export_notifier_world",
        default_bindings_module: "::hookgate_plugin_sdk::__private::bindings::notifier",
        runtime_path: "::hookgate_plugin_sdk::__private::wit_bindgen::rt",
        with: {
            "hookgate:plugin/types@0.2.0": crate::bindings::provider::hookgate::plugin0_2_0::types,
            "hookgate:plugin/log@0.2.0": crate::bindings::provider::hookgate::plugin0_2_0::log,
        },
    });
}

pub use provider::hookgate::plugin0_2_0::log as wit_log;
pub use provider::hookgate::plugin0_2_0::types as wit;
