-- Consent: who blocks whom, and invitations to rooms waiting for an answer. Times are Unix
-- milliseconds.

-- user_id blocks blocked_id.
CREATE TABLE blocks (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    at         INTEGER NOT NULL,
    PRIMARY KEY (user_id, blocked_id),
    CHECK (user_id <> blocked_id)
) STRICT, WITHOUT ROWID;

-- Who blocks a user (presence and the direct-send check look this way round).
CREATE INDEX blocks_by_blocked ON blocks (blocked_id, user_id);

-- inviter_id invited invitee_id to the room conv_id; gone once accepted or declined.
CREATE TABLE invitations (
    conv_id    INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    invitee_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    inviter_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    at         INTEGER NOT NULL,
    PRIMARY KEY (conv_id, invitee_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX invitations_by_invitee ON invitations (invitee_id, conv_id);
CREATE INDEX invitations_by_inviter ON invitations (conv_id, inviter_id);
