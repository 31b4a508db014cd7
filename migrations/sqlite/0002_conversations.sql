-- Conversations (rooms and direct pairs), their members, their sequenced events, and each
-- user's read position. Times are Unix milliseconds.

CREATE TABLE conversations (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL CHECK (kind IN ('direct', 'room')),
    -- Rooms only.
    name       TEXT,
    public     INTEGER NOT NULL DEFAULT 0,
    owner_id   INTEGER REFERENCES users (id),
    -- Direct only: "<smaller user id>:<larger user id>", so a pair has one conversation.
    direct_key TEXT UNIQUE,
    -- The newest seq; the next event gets last_seq + 1 in the same transaction.
    last_seq   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX public_rooms ON conversations (id) WHERE kind = 'room' AND public = 1;

CREATE TABLE members (
    conv_id   INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    joined_at INTEGER NOT NULL,
    PRIMARY KEY (conv_id, user_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX members_by_user ON members (user_id, conv_id);

CREATE TABLE events (
    conv_id       INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    at            INTEGER NOT NULL,
    sender_id     INTEGER NOT NULL REFERENCES users (id),
    -- message | created | joined | invited | left | removed
    kind          TEXT    NOT NULL,
    -- Message text, or the room name for 'created'.
    body          TEXT,
    -- The user an 'invited' or 'removed' event is about.
    subject_id    INTEGER,
    client_msg_id TEXT,
    PRIMARY KEY (conv_id, seq)
) STRICT, WITHOUT ROWID;

-- A retried send finds its original: (sender, client_msg_id) is unique.
CREATE UNIQUE INDEX events_idempotency ON events (sender_id, client_msg_id)
    WHERE client_msg_id IS NOT NULL;

CREATE TABLE read_cursors (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    conv_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    PRIMARY KEY (user_id, conv_id)
) STRICT, WITHOUT ROWID;
