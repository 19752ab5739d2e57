//! A test-only component of a world that is not hookgate's: the gateway must refuse it.
// Exported only when built as a component; natively the type is unused.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

wit_bindgen::generate!({
    inline: "
        package test:other;
        world greeter {
            export greet: func(name: string) -> string;
        }
    ",
});

struct Greeter;

impl Guest for Greeter {
    fn greet(name: String) -> String {
        format!("hello {name}")
    }
}

#[cfg(target_arch = "wasm32")]
export!(Greeter);
