//! The store epoch: which lifetime of the server's data a seq belongs to.
//!
//! Seqs are unique and gap-free only within one epoch. A restore from a backup rewinds every
//! conversation, so seqs a client has already seen are handed out again for new events; the
//! store then starts a new epoch. A client keeps the epoch of its cursors next to them and, when
//! a `hello` announces another one, drops them (see [`cursors_survive`]).

use serde::{Deserialize, Serialize};

/// A store epoch: an opaque token (16 lowercase hex digits today) that is equal for every
/// connection to one store until seqs could repeat. Compare it, never parse it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Epoch(pub String);

impl std::fmt::Display for Epoch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The client rule: whether cursors (and seq-based dedupe state) held from epoch `held` may be
/// used after a `hello` that announced `announced`. `held` is `None` when the client holds no
/// cursors at all; then there is nothing to drop. On `false` the client discards every cursor,
/// every event it keeps by seq and any ack-to-seq mapping of its outbox, and resumes with no
/// cursors (its unacknowledged messages it still resends, with their ids).
pub fn cursors_survive(held: Option<&Epoch>, announced: &Epoch) -> bool {
    held.is_none_or(|held| held == announced)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_of_the_announced_epoch_are_kept() {
        let epoch = Epoch("00ff00ff00ff00ff".into());
        assert!(cursors_survive(Some(&epoch.clone()), &epoch));
    }

    #[test]
    fn cursors_of_another_epoch_are_dropped() {
        let old = Epoch("00ff00ff00ff00ff".into());
        let new = Epoch("1234567890abcdef".into());
        assert!(!cursors_survive(Some(&old), &new));
    }

    #[test]
    fn a_client_without_cursors_has_nothing_to_drop() {
        assert!(cursors_survive(None, &Epoch("1234567890abcdef".into())));
    }

    #[test]
    fn an_epoch_is_a_json_string() {
        let epoch = Epoch("1234567890abcdef".into());
        assert_eq!(
            serde_json::to_string(&epoch).unwrap(),
            "\"1234567890abcdef\""
        );
    }
}
