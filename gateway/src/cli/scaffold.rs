//! `hookgate plugin new NAME --kind KIND [--dir DIR]`: writes a plugin crate that builds with
//! one `cargo build --release --target wasm32-wasip2`, passes its own `cargo test`, and loads
//! as a drop-in unchanged.
//!
//! The SDK is not on crates.io, and the new crate must build where only this binary and
//! crates.io are at hand, so the binary carries a copy of the SDK's sources and of the WIT
//! files and writes them into the crate (`hookgate-sdk/plugin-sdk`, `hookgate-sdk/wit`): the
//! plugin is built against exactly the interface version of the gateway that made it.

use super::CliError;
use crate::runtime::{ApiVersion, PluginKind};
use std::path::{Path, PathBuf};

/// The SDK's source files, as `(path inside plugin-sdk/, text)`.
const SDK_FILES: &[(&str, &str)] = &[
    ("README.md", include_str!("../../../plugin-sdk/README.md")),
    (
        "src/alert.rs",
        include_str!("../../../plugin-sdk/src/alert.rs"),
    ),
    (
        "src/arena.rs",
        include_str!("../../../plugin-sdk/src/arena.rs"),
    ),
    (
        "src/bindings.rs",
        include_str!("../../../plugin-sdk/src/bindings.rs"),
    ),
    (
        "src/config.rs",
        include_str!("../../../plugin-sdk/src/config.rs"),
    ),
    (
        "src/convert.rs",
        include_str!("../../../plugin-sdk/src/convert.rs"),
    ),
    (
        "src/error.rs",
        include_str!("../../../plugin-sdk/src/error.rs"),
    ),
    (
        "src/event.rs",
        include_str!("../../../plugin-sdk/src/event.rs"),
    ),
    (
        "src/export.rs",
        include_str!("../../../plugin-sdk/src/export.rs"),
    ),
    (
        "src/info.rs",
        include_str!("../../../plugin-sdk/src/info.rs"),
    ),
    (
        "src/json.rs",
        include_str!("../../../plugin-sdk/src/json.rs"),
    ),
    ("src/lib.rs", include_str!("../../../plugin-sdk/src/lib.rs")),
    ("src/log.rs", include_str!("../../../plugin-sdk/src/log.rs")),
    (
        "src/message.rs",
        include_str!("../../../plugin-sdk/src/message.rs"),
    ),
    (
        "src/notify.rs",
        include_str!("../../../plugin-sdk/src/notify.rs"),
    ),
    (
        "src/provider.rs",
        include_str!("../../../plugin-sdk/src/provider.rs"),
    ),
    (
        "src/select.rs",
        include_str!("../../../plugin-sdk/src/select.rs"),
    ),
    (
        "src/text.rs",
        include_str!("../../../plugin-sdk/src/text.rs"),
    ),
    (
        "src/time.rs",
        include_str!("../../../plugin-sdk/src/time.rs"),
    ),
];

/// The WIT package with the frozen versions it keeps in `deps/` (the SDK's bindings name the
/// package's module by version because they are there), as `(path inside wit/, text)`.
const WIT_FILES: &[(&str, &str)] = &[
    ("plugins.wit", include_str!("../../../wit/plugins.wit")),
    ("types.wit", include_str!("../../../wit/types.wit")),
    ("README.md", include_str!("../../../wit/README.md")),
    (
        "deps/hookgate-plugin@0.1.0/plugins.wit",
        include_str!("../../../wit/deps/hookgate-plugin@0.1.0/plugins.wit"),
    ),
    (
        "deps/hookgate-plugin@0.1.0/types.wit",
        include_str!("../../../wit/deps/hookgate-plugin@0.1.0/types.wit"),
    ),
];

const CARGO_TOML: &str = include_str!("../../templates/plugin/Cargo.toml.tmpl");
const SDK_CARGO_TOML: &str = include_str!("../../templates/plugin/sdk-Cargo.toml.tmpl");
const RUST_TOOLCHAIN: &str = include_str!("../../templates/plugin/rust-toolchain.toml");
const GITIGNORE: &str = include_str!("../../templates/plugin/gitignore");
const README: &str = include_str!("../../templates/plugin/README.md.tmpl");

/// The plugin's source for each kind, with a unit test of its own.
fn lib_template(kind: PluginKind) -> &'static str {
    match kind {
        PluginKind::Provider => include_str!("../../templates/plugin/provider.rs"),
        PluginKind::AlertMapper => include_str!("../../templates/plugin/alert_mapper.rs"),
        PluginKind::Formatter => include_str!("../../templates/plugin/formatter.rs"),
        PluginKind::Notifier => include_str!("../../templates/plugin/notifier.rs"),
    }
}

/// How to try the built component with `hookgate plugin run`, per kind.
fn run_example(kind: PluginKind, crate_name: &str) -> String {
    let file = format!("target/wasm32-wasip2/release/{crate_name}.wasm");
    match kind {
        PluginKind::Provider => format!("hookgate plugin run {file} --event push"),
        PluginKind::AlertMapper => format!(
            "echo '{{\"repository\": {{\"full_name\": \"acme/widgets\"}}, \"status\": \"failed\"}}' > build.json\n\
             hookgate plugin run {file} --event build --body build.json"
        ),
        PluginKind::Formatter => format!(
            "echo '{{\"repository\": {{\"full_name\": \"acme/widgets\"}}}}' > push.json\n\
             hookgate plugin run {file} --event push --body push.json"
        ),
        PluginKind::Notifier => format!(
            "echo '{{\"message\": {{\"text\": \"hello\", \"embeds\": []}}}}' > message.json\n\
             hookgate plugin run {file} --body message.json --config kind=webhook --config url=https://example.com/hook"
        ),
    }
}

/// Writes the crate for plugin `name` of `kind` into `dir` (default `./<name>`), which must not
/// exist or be empty. Returns the folder.
pub fn create(name: &str, kind: PluginKind, dir: Option<PathBuf>) -> Result<PathBuf, CliError> {
    check_name(name)?;
    let dir = dir.unwrap_or_else(|| PathBuf::from(name));
    let occupied = std::fs::read_dir(&dir).is_ok_and(|mut entries| entries.next().is_some());
    if occupied {
        return Err(CliError::input(format!(
            "{} exists and is not empty; choose another --dir",
            dir.display()
        )));
    }
    let crate_name = name.replace('-', "_");
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{crate}}", &crate_name)
            .replace("{{type}}", &type_name(name))
            .replace("{{kind}}", &kind.to_string())
            .replace("{{description}}", &format!("A hookgate {kind} plugin."))
            .replace("{{run_example}}", &run_example(kind, &crate_name))
            .replace("{{hookgate_version}}", env!("CARGO_PKG_VERSION"))
            .replace("{{api_version}}", ApiVersion::LATEST.as_str())
    };
    let mut files: Vec<(PathBuf, String)> = vec![
        ("Cargo.toml".into(), fill(CARGO_TOML)),
        ("rust-toolchain.toml".into(), RUST_TOOLCHAIN.into()),
        (".gitignore".into(), GITIGNORE.into()),
        ("README.md".into(), fill(README)),
        ("src/lib.rs".into(), fill(lib_template(kind))),
        (
            "hookgate-sdk/plugin-sdk/Cargo.toml".into(),
            fill(SDK_CARGO_TOML),
        ),
    ];
    files.extend(SDK_FILES.iter().map(|(path, text)| {
        (
            Path::new("hookgate-sdk/plugin-sdk").join(path),
            text.to_string(),
        )
    }));
    files.extend(
        WIT_FILES
            .iter()
            .map(|(path, text)| (Path::new("hookgate-sdk/wit").join(path), text.to_string())),
    );
    for (path, text) in files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|error| {
                CliError::input(format!("cannot create {}: {error}", parent.display()))
            })?;
        }
        std::fs::write(&path, text).map_err(|error| {
            CliError::input(format!("cannot write {}: {error}", path.display()))
        })?;
    }
    Ok(dir)
}

/// A plugin name is what endpoints refer to and the crate's name: lower-case ASCII letters,
/// digits and `-`, starting with a letter.
fn check_name(name: &str) -> Result<(), CliError> {
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-');
    if valid {
        Ok(())
    } else {
        Err(CliError::input(format!(
            "invalid plugin name {name:?}: use lower-case letters, digits and '-', starting with a letter"
        )))
    }
}

/// `red-builds` -> `RedBuilds`.
fn type_name(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded copy must be the whole SDK and the whole WIT package: a file added there and
    /// not here would make every scaffolded crate fail to build.
    #[test]
    fn the_embedded_sdk_and_wit_are_complete() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        // Every file under `dir`, as a path relative to it.
        fn listed(root: &Path, dir: &Path) -> Vec<String> {
            let mut names = Vec::new();
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let path = dir.join(entry.unwrap().file_name());
                if root.join(&path).is_dir() {
                    names.extend(listed(root, &path));
                } else {
                    names.push(path.to_string_lossy().into_owned());
                }
            }
            names.sort();
            names
        }
        let embedded_sdk: Vec<String> = SDK_FILES
            .iter()
            .filter_map(|(path, _)| path.strip_prefix("src/").map(str::to_string))
            .collect();
        let sdk_root = root.join("plugin-sdk/src");
        assert_eq!(embedded_sdk, listed(&sdk_root, Path::new("")));
        let mut embedded_wit: Vec<String> =
            WIT_FILES.iter().map(|(path, _)| path.to_string()).collect();
        embedded_wit.sort();
        assert_eq!(embedded_wit, listed(&root.join("wit"), Path::new("")));
    }

    #[test]
    fn names_become_crate_and_type_names() {
        assert_eq!(type_name("red-builds"), "RedBuilds");
        assert_eq!(type_name("github2"), "Github2");
        for bad in ["", "Red", "red_builds", "2fa", "red-", "red builds"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name("red-builds-2").is_ok());
    }

    #[test]
    fn writes_a_crate_with_the_sdk_and_refuses_a_used_folder() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("red-builds");
        create("red-builds", PluginKind::AlertMapper, Some(target.clone())).unwrap();
        let lib = std::fs::read_to_string(target.join("src/lib.rs")).unwrap();
        assert!(lib.contains("export_alert_mapper!(RedBuilds);"), "{lib}");
        for placeholder in ["{{name}}", "{{type}}", "{{crate}}", "{{kind}}"] {
            assert!(!lib.contains(placeholder), "{placeholder} left in {lib}");
        }
        let manifest = std::fs::read_to_string(target.join("Cargo.toml")).unwrap();
        assert!(manifest.contains("name = \"red-builds\""));
        assert!(target.join("hookgate-sdk/wit/types.wit").is_file());
        assert!(
            target
                .join("hookgate-sdk/wit/deps/hookgate-plugin@0.1.0/types.wit")
                .is_file()
        );
        assert!(
            target
                .join("hookgate-sdk/plugin-sdk/src/bindings.rs")
                .is_file()
        );
        let error = create("red-builds", PluginKind::AlertMapper, Some(target)).unwrap_err();
        assert!(error.message.contains("not empty"), "{}", error.message);
    }
}
