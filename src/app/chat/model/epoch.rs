//! What the model does when the store epoch changes (see `docs/PROTOCOL.md`, Resume).
//!
//! Everything the model keeps by seq or by conversation id came from one epoch; after a restore
//! the same seqs (and even conversation ids) can name other things. So when a `hello` or the
//! first paint announces another epoch than the one the model holds, the model forgets all of
//! it, and the next `resume` sends no cursors: every conversation comes back with its latest
//! page. The user's own unechoed messages stay in the outbox and are sent again with their ids
//! (stored once if the restored store already had them), no longer counted as acked.
//!
//! Part of the pure model: depends only on `protocol`.

use super::{ChatModel, Effect, Effects, Part};
use crate::protocol::{Epoch, cursors_survive};

impl ChatModel {
    /// Takes `epoch` as the one the model's seqs belong to, first forgetting what came from
    /// another one.
    pub(super) fn adopt_epoch(&mut self, epoch: Epoch) -> Effects {
        let mut effects = Vec::new();
        if !cursors_survive(self.epoch.as_ref(), &epoch) {
            effects.push(Effect::Log(
                "the server's store epoch changed: starting over",
            ));
            self.conversations.clear();
            self.events.clear();
            self.mentioning.clear();
            self.members.clear();
            self.crowded.clear();
            self.loading.clear();
            self.typing.clear();
            for pending in &mut self.outbox {
                pending.acked = false;
            }
            for part in [
                Part::Conversations,
                Part::Events,
                Part::Members,
                Part::Crowded,
                Part::Loading,
                Part::Typing,
                Part::Outbox,
            ] {
                self.touch(part);
            }
        }
        self.epoch = Some(epoch);
        effects
    }
}
