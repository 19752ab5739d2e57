//! The generated ABI, one module per world. Plugin authors never use this module: the traits
//! and `export_*!` macros of the crate root wrap it. The four worlds share the `types` and `log`
//! interfaces through `with`, so each WIT type exists once in Rust.
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
            "hookgate:plugin/types@0.1.0": crate::bindings::provider::hookgate::plugin::types,
            "hookgate:plugin/log@0.1.0": crate::bindings::provider::hookgate::plugin::log,
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
            "hookgate:plugin/types@0.1.0": crate::bindings::provider::hookgate::plugin::types,
            "hookgate:plugin/log@0.1.0": crate::bindings::provider::hookgate::plugin::log,
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
            "hookgate:plugin/types@0.1.0": crate::bindings::provider::hookgate::plugin::types,
            "hookgate:plugin/log@0.1.0": crate::bindings::provider::hookgate::plugin::log,
        },
    });
}

pub use provider::hookgate::plugin::log as wit_log;
pub use provider::hookgate::plugin::types as wit;
