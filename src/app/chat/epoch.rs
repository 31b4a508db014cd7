//! What the page does when the store epoch changes (see `docs/PROTOCOL.md`, Resume).
//!
//! Everything the model keeps by seq or by conversation id came from one epoch; after a restore
//! the same seqs (and even conversation ids) can name other things. So when a `hello` or the
//! first paint announces another epoch than the one the model holds, the model forgets all of
//! it, and the next `resume` sends no cursors: every conversation comes back with its latest
//! page. The user's own unechoed messages stay in the outbox and are sent again with their ids
//! (stored once if the restored store already had them), no longer counted as acked.

use leptos::prelude::*;

use super::Chat;
use crate::protocol::{Epoch, cursors_survive};

impl Chat {
    /// Takes `epoch` as the one the model's seqs belong to, first forgetting what came from
    /// another one.
    pub(super) fn adopt_epoch(&self, epoch: Epoch) {
        let held = self.epoch.get_value();
        if !cursors_survive(held.as_ref(), &epoch) {
            leptos::logging::log!("the server's store epoch changed: starting over");
            self.conversations.set(Vec::new());
            self.events.set(Default::default());
            self.members.set(Default::default());
            self.crowded.set(Default::default());
            self.loading.set(Default::default());
            self.typing.set(Default::default());
            self.outbox.update(|outbox| {
                for pending in outbox.iter_mut() {
                    pending.acked = false;
                }
            });
        }
        self.epoch.set_value(Some(epoch));
    }
}
