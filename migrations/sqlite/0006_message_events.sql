-- Message events: edits, deletions, replies and reactions (issue 15).
--
-- `target_seq` is the seq (in the same conversation) an event is about: the message an
-- 'edited', 'deleted', 'reacted' or 'unreacted' event names, the message a 'message' replies
-- to, the message a deleted edit ('tombstone') belonged to. A deleted message and its edits
-- become kind 'tombstone' with no body: the text is removed, the seq stays.
ALTER TABLE events ADD COLUMN target_seq INTEGER;

-- The edits of a message, found when it is deleted.
CREATE INDEX events_by_target ON events (conv_id, target_seq) WHERE target_seq IS NOT NULL;

-- The current reactions: one row per (message, emoji, user), kept in the transaction that stores
-- the 'reacted' or 'unreacted' event, so a repeat is recognised and the distinct emoji per
-- message are bounded without reading the events. `seq` is the 'reacted' event's.
CREATE TABLE reactions (
    conv_id    INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    target_seq INTEGER NOT NULL,
    emoji      TEXT    NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    PRIMARY KEY (conv_id, target_seq, emoji, user_id)
) STRICT, WITHOUT ROWID;
