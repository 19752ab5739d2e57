//! `hookgate`, built inside the tests crate so its tests can run it as a child process.

fn main() -> std::process::ExitCode {
    hookgate::cli::main()
}
