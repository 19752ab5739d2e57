//! Builds the test-only plugins (`tests/plugins/*`), which are never embedded in the gateway.

#[path = "../gateway/wasm_build.rs"]
mod wasm_build;

fn main() {
    let dir = wasm_build::build_plugins(&[
        "hostile",
        "impostor",
        "other-world",
        "future-api",
        "bitbucket",
        "bitbucket-pipelines",
        "bitbucket-embeds",
        "notifier",
    ]);
    println!("cargo:rustc-env=HOOKGATE_TEST_PLUGIN_DIR={}", dir.display());
}
