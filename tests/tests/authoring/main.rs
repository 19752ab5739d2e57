//! Plugin authoring end to end: `hookgate plugin new` crates and a Python plugin, built with
//! cargo and componentize-py, then loaded as drop-ins into a running gateway.
//!
//! A test binary of its own because these tests compile for minutes: cargo runs test binaries
//! one after another, so those builds never load the machine while the timing-bound tests of
//! `it` (time limits, retries) run.

mod python_plugin;
mod scaffold;
