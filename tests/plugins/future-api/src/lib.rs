//! A test-only plugin that claims a future WIT version, `hookgate:plugin@0.9.0`: the gateway
//! must refuse it with a message naming the version.

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
