//! Builds the test-only plugins (`tests/plugins/*`) and the third-party examples (`examples/*`),
//! which are never embedded in the gateway: the tests load them as drop-ins.

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
        "github",
        "github-embeds",
        "github-actions",
        "gitlab",
        "hookgate-relay",
    ]);
    println!("cargo:rustc-env=HOOKGATE_TEST_PLUGIN_DIR={}", dir.display());
}
