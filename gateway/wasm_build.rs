//! Builds plugin crates of this workspace as WASI components, from a build script.
//!
//! Used by `gateway/build.rs` (the built-in plugins) and `tests/build.rs` (test-only plugins)
//! through `#[path]`, so `cargo build` and `cargo test` on a fresh clone need no extra step. It
//! runs a nested `cargo build --target wasm32-wasip2 --profile plugin` with its own target
//! directory (`<target>/wasm-plugins`, one per source tree when the target dir is shared), so it never waits on the outer build's lock, and adds the
//! wasm32-wasip2 target with rustup when the toolchain lacks it.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const WASM_TARGET: &str = "wasm32-wasip2";
const PLUGIN_PROFILE: &str = "plugin";

/// Builds `packages` and returns the folder holding their `.wasm` files (named after the
/// package, `-` as `_`).
pub fn build_plugins(packages: &[&str]) -> PathBuf {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir
        .parent()
        .expect("the crate lives one folder below the workspace root")
        .to_path_buf();
    for watched in [
        "wit",
        "plugin-sdk",
        "plugins",
        "tests/plugins",
        "examples",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }

    // A target dir outside the workspace may be shared by several checkouts (git worktrees
    // with one CARGO_TARGET_DIR), which name their crates alike: cargo would take one tree's
    // build of a plugin crate for another's. Each tree then gets its own folder.
    let outer = outer_target_dir();
    let target_dir = if outer.starts_with(&workspace) {
        outer.join("wasm-plugins")
    } else {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        workspace.hash(&mut hasher);
        outer.join(format!("wasm-plugins-{:016x}", hasher.finish()))
    };
    ensure_wasm_target();

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(&workspace)
        .args([
            "build",
            "--locked",
            "--target",
            WASM_TARGET,
            "--profile",
            PLUGIN_PROFILE,
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    for package in packages {
        command.args(["-p", package]);
    }
    // The outer build's settings are for the host: compiler wrappers (clippy's driver),
    // flags and target must not leak into the wasm build.
    for variable in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET_DIR",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_LLVM_COV",
        "LLVM_PROFILE_FILE",
    ] {
        command.env_remove(variable);
    }
    // Build-script stdout carries `cargo:` directives; send the nested build's output to stderr.
    command.stdout(Stdio::from(std::io::stderr()));
    let status = command
        .status()
        .unwrap_or_else(|error| panic!("cannot run cargo to build the plugins: {error}"));
    assert!(
        status.success(),
        "building the plugins {packages:?} for {WASM_TARGET} failed ({status}); \
         run `cargo build --target {WASM_TARGET} --profile {PLUGIN_PROFILE} -p <plugin>` to see why"
    );

    let out = target_dir.join(WASM_TARGET).join(PLUGIN_PROFILE);
    for package in packages {
        let file = out.join(format!("{}.wasm", package.replace('-', "_")));
        assert!(file.is_file(), "{} was not produced", file.display());
    }
    out
}

/// The outer build's target directory: OUT_DIR is `<target>/<profile>/build/<pkg>-<hash>/out`
/// (or one level deeper when cross-compiling), so walk up to the folder above a `build` folder's
/// profile.
fn outer_target_dir() -> PathBuf {
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let mut dir: &Path = &out_dir;
    while let Some(parent) = dir.parent() {
        if dir.file_name().is_some_and(|name| name == "build") {
            // parent is <target>/<profile>; its parent is <target> (or <target>/<triple>).
            let profile_dir = parent;
            let mut target = profile_dir.parent().unwrap_or(profile_dir).to_path_buf();
            if target.join("CACHEDIR.TAG").is_file() || target.join(".rustc_info.json").is_file() {
                return target;
            }
            if let Some(above) = target.parent() {
                target = above.to_path_buf();
            }
            return target;
        }
        dir = parent;
    }
    out_dir
}

/// Adds the wasm32-wasip2 standard library with rustup when it is missing, so a fresh clone
/// builds without a manual step (rust-toolchain.toml lists the target too).
fn ensure_wasm_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
    let installed = sysroot
        .as_ref()
        .is_some_and(|root| root.join("lib/rustlib").join(WASM_TARGET).is_dir());
    if installed {
        return;
    }
    println!("cargo:warning=installing the {WASM_TARGET} target with rustup");
    let status = Command::new("rustup")
        .args(["target", "add", WASM_TARGET])
        .stdout(Stdio::from(std::io::stderr()))
        .status();
    match status {
        Ok(status) if status.success() => {}
        other => panic!(
            "the {WASM_TARGET} target is missing and `rustup target add {WASM_TARGET}` failed \
             ({other:?}); install it and build again"
        ),
    }
}
