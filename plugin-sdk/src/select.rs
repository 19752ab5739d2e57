//! Reading a few values out of a JSON document without building all of it: one pass over the
//! text that parses only the values at the asked paths and skips the rest byte by byte, with
//! no allocation for what it skips. A mapper that reads a dozen fields of a 5 KB webhook pays
//! for those fields, not for the few hundred values around them.

use crate::PluginError;
use crate::json::segments;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The document `json` with only the values at `paths` (each parsed whole) and the objects and
/// arrays that lead to them, so that [`JsonPath::lookup`](crate::JsonPath::lookup) of any of
/// `paths` on the result answers what it answers on the whole document (a repeated key's last
/// value, as `serde_json` keeps it). Elements before an asked array index are `null`.
///
/// The text is taken to be JSON (the gateway checked it); only the parts walked are checked
/// again, so a document broken where no asked path leads may go unnoticed.
///
/// ```
/// use hookgate_plugin_sdk::prelude::*;
/// use hookgate_plugin_sdk::select_paths;
/// let body = r#"{"commit_status": {"state": "FAILED", "links": {"self": {"href": "x"}}},
///               "repository": {"full_name": "acme/widgets", "size": 42}, "actor": {}}"#;
/// let selected = select_paths(body, &["commit_status^state", "repository.full_name"]).unwrap();
/// assert_eq!(
///     selected,
///     json!({"commit_status": {"state": "FAILED"}, "repository": {"full_name": "acme/widgets"}})
/// );
/// ```
pub fn select_paths(json: &str, paths: &[&str]) -> Result<Value, PluginError> {
    let wanted: Vec<Vec<&str>> = paths.iter().map(|path| segments(path).collect()).collect();
    if wanted.iter().any(Vec::is_empty) {
        // An empty path names the whole document.
        return serde_json::from_str(json).map_err(PluginError::from);
    }
    let wanted: Vec<&[&str]> = wanted.iter().map(Vec::as_slice).collect();
    let mut scanner = Scanner {
        text: json,
        bytes: json.as_bytes(),
        at: 0,
    };
    scanner.whitespace();
    let value = scanner.selected(&wanted)?;
    scanner.whitespace();
    if scanner.at != scanner.bytes.len() {
        return Err(scanner.error("trailing characters"));
    }
    Ok(value)
}

/// The paths a key template's placeholders read (`{path}` and `{path|fallback}`), for
/// [`select_paths`]: `{repository.full_name}:{commit_status.refname}` reads
/// `repository.full_name` and `commit_status.refname`. A malformed template reads what its
/// well-formed placeholders read; rendering it reports the error.
pub fn template_paths(template: &str) -> Vec<&str> {
    let mut paths = Vec::new();
    let mut rest = template;
    while let Some(position) = rest.find(['{', '}']) {
        let tail = &rest[position..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            rest = &tail[2..];
            continue;
        }
        if let Some(after) = tail.strip_prefix('}') {
            rest = after;
            continue;
        }
        let Some(end) = tail.find('}') else {
            break;
        };
        let placeholder = &tail[1..end];
        let path = placeholder
            .split_once('|')
            .map_or(placeholder, |(path, _)| path);
        paths.push(path.trim());
        rest = &tail[end + 1..];
    }
    paths
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    fn error(&self, what: &str) -> PluginError {
        PluginError::new(format!("invalid JSON at byte {}: {what}", self.at))
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), PluginError> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected `{}`", byte as char)))
        }
    }

    /// The value here, keeping only what `wanted` (each a non-empty rest of a path) reaches.
    fn selected(&mut self, wanted: &[&[&str]]) -> Result<Value, PluginError> {
        match self.peek() {
            Some(b'{') => self.object(wanted),
            Some(b'[') => self.array(wanted),
            // A scalar has nothing inside: every path going deeper is missing, as `lookup`
            // finds it missing inside a scalar (and inside `null`).
            _ => {
                self.skip_value()?;
                Ok(Value::Null)
            }
        }
    }

    /// The value here, parsed whole.
    fn whole(&mut self) -> Result<Value, PluginError> {
        let start = self.at;
        self.skip_value()?;
        serde_json::from_str(&self.text[start..self.at]).map_err(PluginError::from)
    }

    fn object(&mut self, wanted: &[&[&str]]) -> Result<Value, PluginError> {
        self.at += 1;
        let mut map = Map::new();
        self.whitespace();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(Value::Object(map));
        }
        let mut deeper: Vec<&[&str]> = Vec::new();
        loop {
            self.whitespace();
            let key = self.key()?;
            self.whitespace();
            self.expect(b':')?;
            self.whitespace();
            if wanted
                .iter()
                .any(|path| path.len() == 1 && path[0] == key.as_ref())
            {
                let value = self.whole()?;
                map.insert(key.into_owned(), value);
            } else {
                deeper.clear();
                deeper.extend(
                    wanted
                        .iter()
                        .filter(|path| path[0] == key.as_ref())
                        .map(|path| &path[1..]),
                );
                if deeper.is_empty() {
                    self.skip_value()?;
                } else {
                    let value = self.selected(&deeper)?;
                    map.insert(key.into_owned(), value);
                }
            }
            self.whitespace();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Value::Object(map));
                }
                _ => return Err(self.error("expected `,` or `}`")),
            }
        }
    }

    fn array(&mut self, wanted: &[&[&str]]) -> Result<Value, PluginError> {
        // `lookup` addresses elements by a segment that parses as an index.
        let Some(last) = wanted
            .iter()
            .filter_map(|path| path[0].parse::<usize>().ok())
            .max()
        else {
            self.skip_value()?;
            return Ok(Value::Array(Vec::new()));
        };
        self.at += 1;
        let mut items = Vec::new();
        self.whitespace();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(Value::Array(items));
        }
        let mut deeper: Vec<&[&str]> = Vec::new();
        let mut index = 0usize;
        loop {
            self.whitespace();
            if index > last {
                self.skip_value()?;
            } else {
                let matching = |path: &&&[&str]| path[0].parse::<usize>() == Ok(index);
                if wanted.iter().filter(matching).any(|path| path.len() == 1) {
                    items.push(self.whole()?);
                } else {
                    deeper.clear();
                    deeper.extend(wanted.iter().filter(matching).map(|path| &path[1..]));
                    if deeper.is_empty() {
                        self.skip_value()?;
                        items.push(Value::Null);
                    } else {
                        items.push(self.selected(&deeper)?);
                    }
                }
            }
            index += 1;
            self.whitespace();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.error("expected `,` or `]`")),
            }
        }
    }

    /// An object key, borrowed from the text unless it has escapes.
    fn key(&mut self) -> Result<Cow<'a, str>, PluginError> {
        if self.peek() != Some(b'"') {
            return Err(self.error("expected a key"));
        }
        let start = self.at;
        let escaped = self.skip_string()?;
        if escaped {
            serde_json::from_str::<String>(&self.text[start..self.at])
                .map(Cow::Owned)
                .map_err(PluginError::from)
        } else {
            Ok(Cow::Borrowed(&self.text[start + 1..self.at - 1]))
        }
    }

    /// Skips the string starting here (at its `"`); whether it had escapes.
    fn skip_string(&mut self) -> Result<bool, PluginError> {
        self.at += 1;
        let mut escaped = false;
        while let Some(&byte) = self.bytes.get(self.at) {
            match byte {
                b'"' => {
                    self.at += 1;
                    return Ok(escaped);
                }
                b'\\' => {
                    escaped = true;
                    self.at += 2;
                }
                _ => self.at += 1,
            }
        }
        self.at = self.bytes.len();
        Err(self.error("unterminated string"))
    }

    /// Skips one value (an object or array with everything in it).
    fn skip_value(&mut self) -> Result<(), PluginError> {
        match self.peek() {
            None => Err(self.error("expected a value")),
            Some(b'"') => self.skip_string().map(|_| ()),
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                while let Some(&byte) = self.bytes.get(self.at) {
                    match byte {
                        b'"' => {
                            self.skip_string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.at += 1;
                                return Ok(());
                            }
                        }
                        _ => {}
                    }
                    self.at += 1;
                }
                Err(self.error("unterminated object or array"))
            }
            Some(_) => {
                let start = self.at;
                while let Some(&byte) = self.bytes.get(self.at) {
                    if matches!(byte, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    self.at += 1;
                }
                if self.at == start {
                    Err(self.error("expected a value"))
                } else {
                    Ok(())
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::JsonPath;
    use serde_json::json;

    const DOCUMENT: &str = r#" {
        "commit_status": {"state": "FAILED", "name": "Pipeline #4", "refname": "main",
            "commit": {"hash": "abc", "message": "fix \"it\"\n", "author": {"user": {"display_name": "Ann"}}},
            "links": {"self": {"href": "https://x/{y}"}}},
        "repository": {"full_name": "acme/widgets", "size": 42.5e1, "private": false, "none": null},
        "list": [{"x": "first"}, {"x": "second", "y": [1, 2, {"z": "]"}]}, "third"],
        "a.b": {"c": 1},
        "dup": {"k": 1}, "dup": {"k": 2},
        "esc\u0061ped": "key with an escape",
        "unicode": "żółw 🐢",
        "empty": {}, "none": []
    } "#;

    /// Every path reads the same from the selection as from the whole document.
    #[test]
    fn a_selection_answers_every_asked_path_like_the_whole_document() {
        let whole: Value = serde_json::from_str(DOCUMENT).unwrap();
        let paths = [
            "commit_status^state",
            "commit_status.commit.hash",
            "commit_status.commit.message",
            "commit_status.commit.author.user.display_name",
            "commit_status.links",
            "commit_status.missing",
            "commit_status.state.deeper",
            "repository.full_name",
            "repository.size",
            "repository.private",
            "repository.none",
            "repository.none.deeper",
            "list.1.x",
            "list.1.y.2.z",
            "list.2",
            "list.3",
            "list.x",
            "a.b^c",
            "dup.k",
            "escaped",
            "unicode",
            "empty.x",
            "none.0",
            "nowhere.at.all",
        ];
        let selected = select_paths(DOCUMENT, &paths).unwrap();
        for path in paths {
            assert_eq!(selected.lookup(path), whole.lookup(path), "{path}");
        }
        // Only what was asked is built.
        assert_eq!(
            selected.lookup("repository.full_name"),
            Some(&json!("acme/widgets"))
        );
        assert_eq!(selected.lookup("commit_status.name"), None);
        assert_eq!(selected["list"][0], Value::Null);
        // Each path alone reads the same too.
        for path in paths {
            let alone = select_paths(DOCUMENT, &[path]).unwrap();
            assert_eq!(alone.lookup(path), whole.lookup(path), "{path} alone");
        }
    }

    #[test]
    fn an_empty_path_or_none_selects_the_whole_document_or_nothing() {
        let whole: Value = serde_json::from_str(DOCUMENT).unwrap();
        assert_eq!(select_paths(DOCUMENT, &[""]).unwrap(), whole);
        assert_eq!(select_paths(DOCUMENT, &[]).unwrap(), json!({}));
        assert_eq!(select_paths("[1, 2]", &["1"]).unwrap(), json!([null, 2]));
        assert_eq!(select_paths("\"text\"", &["a"]).unwrap(), Value::Null);
    }

    #[test]
    fn broken_documents_are_errors_where_walked_never_panics() {
        for broken in [
            "",
            "{",
            "{\"a\"",
            "{\"a\":",
            "{\"a\": {\"b\": 1",
            "{\"a\": \"unterminated",
            "{\"a\" 1}",
            "{\"a\": 1 \"b\": 2}",
            "{\"a\": 1} trailing",
            "{\"a\": [1, 2",
            "{\"a\": [\"\\",
            "{\"a\": tru}",
        ] {
            assert!(select_paths(broken, &["a"]).is_err(), "{broken:?}");
        }
    }

    #[test]
    fn template_paths_are_the_placeholders() {
        assert_eq!(
            template_paths("{repository.full_name}:{commit_status.refname}"),
            ["repository.full_name", "commit_status.refname"]
        );
        assert_eq!(
            template_paths("{{literal}} { a.b | fallback } {c} }} {unclosed"),
            ["a.b", "c"]
        );
        assert!(template_paths("plain").is_empty());
    }
}
