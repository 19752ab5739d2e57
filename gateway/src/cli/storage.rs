//! `hookgate storage copy`: moves an installation between a data directory (its redb file) and
//! a PostgreSQL database, either way, with every gateway on both stopped.

use super::CliError;
use crate::bitbucket::sealed::KEY_FILE;
use crate::config::redact_database_url;
use crate::datadir::{self, DATABASE_FILE};
use crate::store::copy::copy_store;
use crate::store::postgres::PostgresStore;
use crate::store::redb::RedbStore;
use crate::store::{RecordKind, Store};
use clap::Subcommand;
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum StorageCommand {
    /// Copy every record (endpoints, the inbound log, alerts, deliveries, the on-call
    /// directory, sessions, stored plugins, ...) into an empty store and check the counts.
    /// Stop the gateways on both first.
    Copy {
        /// A data directory (its hookgate.redb) or a `postgres://` URL.
        #[arg(long)]
        from: String,
        /// A data directory (created when missing) or a `postgres://` URL of an empty
        /// database.
        #[arg(long)]
        to: String,
    },
}

/// Where a copy reads or writes.
enum Location {
    Folder(PathBuf),
    Database(String),
}

impl Location {
    fn parse(text: &str) -> Self {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Location::Database(text.to_string())
        } else {
            Location::Folder(PathBuf::from(text))
        }
    }

    /// How the report names it (a URL without its password).
    fn shown(&self) -> String {
        match self {
            Location::Folder(dir) => dir.display().to_string(),
            Location::Database(url) => redact_database_url(url),
        }
    }

    /// Opens the store; `create` makes a data directory that is missing (the target).
    fn open(&self, create: bool) -> Result<Box<dyn Store>, CliError> {
        match self {
            Location::Folder(dir) => {
                let file = dir.join(DATABASE_FILE);
                if create {
                    datadir::prepare(dir).map_err(|error| CliError::failed(error.to_string()))?;
                } else if !file.is_file() {
                    return Err(CliError::input(format!(
                        "{} holds no {DATABASE_FILE}: --from must be a gateway's data directory",
                        dir.display()
                    )));
                }
                let store = RedbStore::open(&file).map_err(|error| {
                    CliError::failed(format!(
                        "{error} (is a gateway running on it? stop it first)"
                    ))
                })?;
                Ok(Box::new(store))
            }
            Location::Database(url) => {
                let store = PostgresStore::open_named(url, "hookgate-storage-copy")
                    .map_err(|error| CliError::failed(error.to_string()))?;
                let connections = store
                    .gateway_connections()
                    .map_err(|error| CliError::failed(error.to_string()))?;
                if connections > 0 {
                    return Err(CliError::failed(format!(
                        "{}: gateways are running on this database ({connections} connections); \
                         stop them first, so nothing is written during the copy",
                        self.shown()
                    )));
                }
                Ok(Box::new(store))
            }
        }
    }
}

pub fn run(command: StorageCommand) -> Result<(), CliError> {
    match command {
        StorageCommand::Copy { from, to } => copy(&Location::parse(&from), &Location::parse(&to)),
    }
}

fn copy(from: &Location, to: &Location) -> Result<(), CliError> {
    if let (Location::Folder(a), Location::Folder(b)) = (from, to)
        && same_folder(a, b)
    {
        return Err(CliError::input(
            "--from and --to are the same data directory",
        ));
    }
    let key_plan = plan_key_file(from, to)?;
    let source = from.open(false)?;
    let target = to.open(true)?;
    println!("copying {} → {}", from.shown(), to.shown());
    let counts = copy_store(source.as_ref(), target.as_ref(), |kind, count| {
        println!("  {count:>9} {}", kind.label());
    })
    .map_err(|error| CliError::failed(error.to_string()))?;
    println!("verified: the target holds as many records of each kind as the source");
    if counts.of(RecordKind::BitbucketConnection) > 0 {
        key_plan.carry_out()?;
    }
    Ok(())
}

fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// What becomes of the key that seals Bitbucket OAuth tokens (a file in the data directory,
/// never in the database): the copied connections open only with it.
enum KeyPlan {
    /// Copy the source folder's key into the target folder.
    CopyFile {
        from: PathBuf,
        to: PathBuf,
    },
    /// Tell the operator where it must go.
    Say(String),
    Nothing,
}

fn plan_key_file(from: &Location, to: &Location) -> Result<KeyPlan, CliError> {
    Ok(match (from, to) {
        (Location::Folder(source), Location::Folder(target)) => {
            let (from, to) = (source.join(KEY_FILE), target.join(KEY_FILE));
            if !from.is_file() {
                KeyPlan::Nothing
            } else if to.is_file() {
                if std::fs::read(&from).ok() != std::fs::read(&to).ok() {
                    return Err(CliError::input(format!(
                        "{} already has a different {KEY_FILE}: the copied Bitbucket \
                         connections would not open with it; move it aside first",
                        target.display()
                    )));
                }
                KeyPlan::Nothing
            } else {
                KeyPlan::CopyFile { from, to }
            }
        }
        (Location::Folder(source), Location::Database(_)) => KeyPlan::Say(format!(
            "Bitbucket connections are sealed with {}: copy it into the data directory of \
             every gateway on the new database (mode 0600)",
            source.join(KEY_FILE).display()
        )),
        (Location::Database(_), Location::Folder(target)) => KeyPlan::Say(format!(
            "Bitbucket connections are sealed with the {KEY_FILE} of the gateways on the \
             source database: copy it to {}",
            target.join(KEY_FILE).display()
        )),
        (Location::Database(_), Location::Database(_)) => KeyPlan::Say(format!(
            "Bitbucket connections stay sealed with the gateways' {KEY_FILE}: keep it in the \
             data directory of every gateway on the new database"
        )),
    })
}

impl KeyPlan {
    fn carry_out(self) -> Result<(), CliError> {
        match self {
            KeyPlan::CopyFile { from, to } => {
                let key = datadir::key_file(&from)
                    .map_err(|error| CliError::failed(error.to_string()))?;
                datadir::write_key_file(&to, &key)
                    .map_err(|error| CliError::failed(error.to_string()))?;
                println!("copied {KEY_FILE}, which seals the Bitbucket connections");
            }
            KeyPlan::Say(advice) => println!("{advice}"),
            KeyPlan::Nothing => {}
        }
        Ok(())
    }
}
