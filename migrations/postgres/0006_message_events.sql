-- Message events: edits, deletions, replies and reactions (issue 15). The same column, index
-- and table as migrations/sqlite/0006_message_events.sql, which explains them: `target_seq` is
-- the seq an event is about (a reply's message too), a deleted message and its edits become
-- kind 'tombstone' with no body, and `reactions` holds the current reactions.
ALTER TABLE events ADD COLUMN target_seq BIGINT;
CREATE INDEX events_by_target ON events (conv_id, target_seq) WHERE target_seq IS NOT NULL;
CREATE TABLE reactions (
    conv_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    target_seq BIGINT NOT NULL, emoji TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE, seq BIGINT NOT NULL,
    PRIMARY KEY (conv_id, target_seq, emoji, user_id)
);
