-- Conversations (rooms and direct pairs), their members, their sequenced events, and each
-- user's read position (Postgres; the same tables and columns as
-- migrations/sqlite/0002_conversations.sql). Times are Unix milliseconds.

CREATE TABLE conversations (
    id         BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       TEXT    NOT NULL CHECK (kind IN ('direct', 'room')),
    -- Rooms only.
    name       TEXT,
    public     BOOLEAN NOT NULL DEFAULT FALSE,
    owner_id   BIGINT  REFERENCES users (id),
    -- Direct only: "<smaller user id>:<larger user id>", so a pair has one conversation.
    direct_key TEXT    UNIQUE,
    -- The newest seq. Writers take the next ones with UPDATE … RETURNING in the transaction that
    -- stores the events: the row lock, held to commit, orders writers from every node.
    last_seq   BIGINT  NOT NULL DEFAULT 0,
    created_at BIGINT  NOT NULL
);

CREATE INDEX public_rooms ON conversations (id) WHERE kind = 'room' AND public;

CREATE TABLE members (
    conv_id   BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    joined_at BIGINT NOT NULL,
    PRIMARY KEY (conv_id, user_id)
);

CREATE INDEX members_by_user ON members (user_id, conv_id);

CREATE TABLE events (
    conv_id       BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq           BIGINT NOT NULL,
    at            BIGINT NOT NULL,
    sender_id     BIGINT NOT NULL REFERENCES users (id),
    -- message | created | joined | invited | left | removed | renamed
    kind          TEXT   NOT NULL,
    -- Message text, or the room name for 'created' and 'renamed'.
    body          TEXT,
    -- The user an 'invited' or 'removed' event is about.
    subject_id    BIGINT,
    client_msg_id TEXT,
    PRIMARY KEY (conv_id, seq)
);

-- A retried send finds its original: (sender, client_msg_id) is unique.
CREATE UNIQUE INDEX events_idempotency ON events (sender_id, client_msg_id)
    WHERE client_msg_id IS NOT NULL;

CREATE TABLE read_cursors (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    conv_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq     BIGINT NOT NULL,
    PRIMARY KEY (user_id, conv_id)
);
