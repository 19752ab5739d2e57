//! Text as chat messages show it: cut to a length without splitting a character, the subject
//! line of a commit message, and a commit hash as `git log --oneline` shows it.
//!
//! ```
//! use hookgate_plugin_sdk::{first_line, short_hash, truncate};
//! let message = "Fix the parser\n\nIt read one byte too far.";
//! let line = format!("`{}` {}", short_hash("c14c1bb05dfb1fdcdf06"), truncate(first_line(message), 10));
//! assert_eq!(line, "`c14c1bb` Fix the p…");
//! ```

/// How many characters of a commit hash [`short_hash`] keeps: as `git log --oneline` shows them.
const SHORT_HASH_CHARS: usize = 7;

/// Cuts `text` to at most `max_chars` characters, ending with `…` when it was cut. Counts
/// characters (Unicode scalar values), as Discord and Slack do, and never splits one.
///
/// ```
/// use hookgate_plugin_sdk::truncate;
/// assert_eq!(truncate("héllo world", 6), "héllo…");
/// assert_eq!(truncate("short", 10), "short");
/// ```
pub fn truncate(text: &str, max_chars: usize) -> String {
    if max_chars == 0 {
        return String::new();
    }
    match text.char_indices().nth(max_chars) {
        None => text.to_string(),
        Some(_) => {
            let keep = text
                .char_indices()
                .nth(max_chars - 1)
                .map_or(text.len(), |(index, _)| index);
            format!("{}…", &text[..keep])
        }
    }
}

/// The first line of `text` that is not blank, without its surrounding whitespace; `""` when
/// there is none. A commit message's first line is its subject.
///
/// ```
/// use hookgate_plugin_sdk::first_line;
/// assert_eq!(first_line("\n  Fix the parser  \n\nIt read one byte too far."), "Fix the parser");
/// assert_eq!(first_line(" \n "), "");
/// ```
pub fn first_line(text: &str) -> &str {
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("")
}

/// The first seven characters of a commit hash, as `git log --oneline` shows it. A shorter
/// hash, or text that is not plain ASCII where it would be cut, comes back whole.
///
/// ```
/// use hookgate_plugin_sdk::short_hash;
/// assert_eq!(short_hash("c14c1bb05dfb1fdcdf06b31485fff61b0ea44277"), "c14c1bb");
/// assert_eq!(short_hash("abc"), "abc");
/// ```
pub fn short_hash(hash: &str) -> &str {
    hash.get(..SHORT_HASH_CHARS).unwrap_or(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_counts_characters() {
        assert_eq!(truncate("ééé", 3), "ééé");
        assert_eq!(truncate("éééé", 3), "éé…");
        assert_eq!(truncate("abc", 0), "");
        assert_eq!(truncate("abc", 1), "…");
    }

    #[test]
    fn first_line_skips_blank_lines_and_trims() {
        assert_eq!(first_line("subject\nbody"), "subject");
        assert_eq!(first_line("\r\n\t subject \r\nbody"), "subject");
        assert_eq!(first_line(""), "");
        assert_eq!(first_line("\n\n"), "");
    }

    #[test]
    fn short_hash_keeps_seven_characters_and_never_panics() {
        assert_eq!(
            short_hash("a51241ae1f00cbe728930db48e890b18fd527f99"),
            "a51241a"
        );
        assert_eq!(short_hash("a51241a"), "a51241a");
        assert_eq!(short_hash(""), "");
        // The seventh byte falls inside `é`: no panic, the text comes back whole.
        assert_eq!(short_hash("abcdefé0"), "abcdefé0");
    }
}
