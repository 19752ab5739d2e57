//! The command line: `hookgate serve` and the subcommands that talk to a gateway, plus the
//! plugin-author commands that need no server.

mod plugin;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// hookgate: a webhook gateway with WebAssembly plugins.
#[derive(Debug, Parser)]
#[command(name = "hookgate", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with plugin files: validate and run them locally.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
}

/// A failure the CLI reports with its exit code: 1 when a plugin failed, 2 when the input
/// (file, payload, arguments) is unusable.
#[derive(Debug)]
pub struct CliError {
    pub exit_code: u8,
    pub message: String,
}

impl CliError {
    pub fn input(message: impl Into<String>) -> Self {
        Self {
            exit_code: 2,
            message: message.into(),
        }
    }

    pub fn plugin(message: impl Into<String>) -> Self {
        Self {
            exit_code: 1,
            message: message.into(),
        }
    }
}

/// Parses the arguments and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Plugin(command) => plugin::run(command),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", error.message);
            ExitCode::from(error.exit_code)
        }
    }
}
