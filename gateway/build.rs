//! Builds the built-in plugins (`plugins/*`) as WASI components for `src/builtin.rs` to embed.

#[path = "wasm_build.rs"]
mod wasm_build;

fn main() {
    let dir = wasm_build::build_plugins(&[
        "bitbucket",
        "bitbucket-pipelines",
        "bitbucket-embeds",
        "notifier",
    ]);
    println!("cargo:rustc-env=HOOKGATE_PLUGIN_DIR={}", dir.display());
}
