//! Moves an installation from one store to another (`hookgate storage copy`): every kind of
//! record, page by page, into a target that holds none yet, then checks that the target holds
//! as many of each kind as the source.
//!
//! Nothing may write to either store meanwhile: the command opens a redb file itself (its lock
//! keeps a gateway out) and refuses a PostgreSQL database other gateways are connected to.

use super::{RecordCounts, RecordKind, Store, StoreError};

/// Records read and written per round trip; stored plugins are read a few at a time (a
/// component can be megabytes).
const PAGE: usize = 500;
const PLUGIN_PAGE: usize = 4;

/// Why a copy did not happen, or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The target already holds an installation: nothing was written.
    #[error(
        "the target is not empty (it holds {count} {}); copy into a new data directory or an \
         empty database",
        kind.label()
    )]
    TargetNotEmpty { kind: RecordKind, count: u64 },
    /// After the copy the target holds a different number of records of a kind than the
    /// source (something wrote to one of them meanwhile).
    #[error(
        "the copy does not match: the source holds {source_count} {} and the target \
         {target_count}; was a gateway running on either? Start again with an empty target",
        kind.label()
    )]
    Mismatch {
        kind: RecordKind,
        source_count: u64,
        target_count: u64,
    },
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// Copies everything `from` holds into `to`, telling `progress` each kind's count as it
/// finishes; returns the counts, verified equal in both stores.
pub fn copy_store(
    from: &dyn Store,
    to: &dyn Store,
    mut progress: impl FnMut(RecordKind, u64),
) -> Result<RecordCounts, CopyError> {
    let existing = to.record_counts()?;
    if let Some(kind) = RecordKind::ALL
        .into_iter()
        .find(|kind| kind.is_installation() && existing.of(*kind) > 0)
    {
        return Err(CopyError::TargetNotEmpty {
            kind,
            count: existing.of(kind),
        });
    }
    for kind in RecordKind::ALL {
        let limit = if kind == RecordKind::Plugin {
            PLUGIN_PAGE
        } else {
            PAGE
        };
        let mut after = None;
        let mut copied = 0;
        loop {
            let page = from.copy_page(kind, after.as_ref(), limit)?;
            let Some(last) = page.last() else {
                break;
            };
            after = Some(last.key());
            copied += page.len() as u64;
            let full = page.len() == limit;
            to.copy_in(page)?;
            if !full {
                break;
            }
        }
        progress(kind, copied);
    }
    let (source, target) = (from.record_counts()?, to.record_counts()?);
    for kind in RecordKind::ALL {
        let (source_count, target_count) = (source.of(kind), target.of(kind));
        // Counters and keys the target had of its own stay beside the copied ones.
        let matches = if kind.is_installation() {
            source_count == target_count
        } else {
            target_count >= source_count
        };
        if !matches {
            return Err(CopyError::Mismatch {
                kind,
                source_count,
                target_count,
            });
        }
    }
    Ok(source)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::contract::copy::filled;
    use crate::store::redb::RedbStore;

    fn redb(dir: &tempfile::TempDir, name: &str) -> RedbStore {
        RedbStore::open(&dir.path().join(name)).expect("the redb file opens")
    }

    #[test]
    fn a_target_with_an_installation_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (source, target) = (redb(&dir, "a.redb"), redb(&dir, "b.redb"));
        filled(&source);
        filled(&target);
        let before = target.record_counts().unwrap();
        let error = copy_store(&source, &target, |_, _| {}).unwrap_err();
        assert!(
            matches!(
                error,
                CopyError::TargetNotEmpty {
                    kind: RecordKind::Endpoint,
                    count: 2
                }
            ),
            "{error}"
        );
        assert!(error.to_string().contains("holds 2 endpoints"), "{error}");
        assert_eq!(target.record_counts().unwrap(), before);
    }

    #[test]
    fn a_target_a_gateway_only_started_on_takes_the_copy() {
        let dir = tempfile::tempdir().unwrap();
        let (source, target) = (redb(&dir, "a.redb"), redb(&dir, "b.redb"));
        filled(&source);
        // What a gateway makes on its first start, with nothing configured yet.
        let own_key = target.secret_key("ack-links").unwrap();
        let counts = copy_store(&source, &target, |_, _| {}).unwrap();
        assert!(counts.of(RecordKind::Inbound) > 0);
        // The source's key replaces it: acknowledgement links keep working after the move.
        let copied_key = target.secret_key("ack-links").unwrap();
        assert_eq!(copied_key, source.secret_key("ack-links").unwrap());
        assert_ne!(copied_key, own_key);
    }
}
