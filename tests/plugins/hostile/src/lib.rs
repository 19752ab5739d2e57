//! A test-only alert mapper that misbehaves on request, to prove the sandbox and the limits.
//! Never embedded in the gateway. Config `behaviour` picks what it does; without it, it behaves.

use hookgate_plugin_sdk::prelude::*;
use std::hint::black_box;

/// The misbehaving mapper.
pub struct Hostile;

impl AlertMapper for Hostile {
    fn info(package: PluginInfo) -> PluginInfo {
        package.config_key(
            "behaviour",
            "loop | allocate | trap | recurse | big-output | huge-error | invalid-utf8 | print | print-past-cap | log-flood | read-file | env | socket | (none: behave)",
        )
    }

    fn map(event: &Event, config: &Config) -> Result<Vec<Action>, PluginError> {
        let behaviour = config.str_or("behaviour", "behave")?;
        Ok(vec![Action::ignore(match behaviour {
            "loop" => {
                let mut counter = 0u64;
                loop {
                    counter = black_box(counter.wrapping_add(1));
                }
            }
            "allocate" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(black_box(vec![1u8; 1 << 20]));
                }
            }
            "trap" => panic!("deliberate panic in the hostile plugin"),
            "recurse" => format!("depth {}", recurse(black_box(1))),
            "big-output" => "x".repeat(2 * 1024 * 1024),
            "huge-error" => return Err(PluginError::new("e".repeat(100 * 1024))),
            "invalid-utf8" => invalid_utf8(),
            "log-flood" => loop {
                hookgate_plugin_sdk::log::warn(&"flood ".repeat(black_box(100_000)));
            },
            "print" => {
                for line in 0..1_000_000u32 {
                    println!("hostile plugin line {line} {}", event.event_key);
                    hookgate_plugin_sdk::log::info("and a log line");
                }
                "printed".to_string()
            }
            "print-past-cap" => {
                // 1,000 numbered lines of 100 bytes (with the newline): 100 kB, past the host's
                // 16 KiB capture, in one quick call, so the test can count what was kept.
                for line in 0..1_000u32 {
                    println!("stdout line {line:05} {}", "x".repeat(81));
                }
                "printed past the cap".to_string()
            }
            "read-file" => match std::fs::read_to_string("/etc/passwd") {
                Ok(text) => format!("read-file succeeded: {} bytes", text.len()),
                Err(error) => format!("read-file denied: {error}"),
            },
            "env" => match std::env::var("HOME") {
                Ok(value) => format!("env succeeded: HOME={value}"),
                Err(error) => format!("env denied: {error} ({} vars)", std::env::vars().count()),
            },
            "socket" => match std::net::TcpStream::connect("127.0.0.1:9") {
                Ok(_) => "socket succeeded".to_string(),
                Err(error) => format!("socket denied: {error}"),
            },
            _ => "behaved".to_string(),
        })])
    }
}

/// A WIT `string` that is not UTF-8, as a guest written in a language without checked strings
/// could return. Rust cannot build one safely; the bytes are only handed to the canonical ABI,
/// which copies them out as they are.
fn invalid_utf8() -> String {
    let bytes = black_box(vec![b'o', b'k', 0xFF, 0xFE, b'!']);
    // SAFETY: deliberately not UTF-8 (that is the test); nothing in this plugin reads the
    // string as text before it crosses the ABI.
    unsafe { String::from_utf8_unchecked(bytes) }
}

/// Recursion the optimiser cannot turn into a loop, until the stack runs out.
fn recurse(depth: u64) -> u64 {
    let frame = black_box([depth; 64]);
    if black_box(depth) == 0 {
        return frame[0];
    }
    recurse(depth + 1) + frame[63]
}

export_alert_mapper!(Hostile);
