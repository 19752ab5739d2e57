//! A test-only plugin that claims a future WIT version, `hookgate:plugin@0.9.0`: the gateway
//! must refuse it with a message naming the version.
// Exported only when built as a component; natively the type is unused.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

wit_bindgen::generate!({
    inline: "
        package hookgate:plugin@0.9.0;
        interface alert-mapper-api {
            info: func() -> string;
        }
        world alert-mapper {
            export alert-mapper-api;
        }
    ",
});

struct Future;

impl exports::hookgate::plugin::alert_mapper_api::Guest for Future {
    fn info() -> String {
        "future".into()
    }
}

#[cfg(target_arch = "wasm32")]
export!(Future);
