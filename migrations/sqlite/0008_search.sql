-- Full-text search over messages (issue 16).
--
-- `message_search` is an FTS5 index of each message's current text (the latest edit's, or the
-- message's own): contentless, so the text is not stored a second time, with `contentless_delete`
-- so a row can be dropped or replaced, and `secure-delete` so a dropped row's words leave the
-- index at once instead of at a later merge: a deleted message's words are not in the file.
-- Words are what the unicode61 tokenizer makes of the text (letters and digits, case folded,
-- accents kept: the same words Postgres' 'simple' configuration finds).
--
-- `message_search_rows` names the message behind each index row (the FTS5 rowid is its `id`)
-- and holds what a search filters and orders by. Triggers on `events` keep both in step: a
-- message is added, an edit replaces its message's text, a deletion (the message becoming a
-- tombstone) drops it. A conversation's rows go with it. Membership is checked at query time.
CREATE VIRTUAL TABLE message_search USING fts5(
    body,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0'
);
INSERT INTO message_search (message_search, rank) VALUES ('secure-delete', 1);

CREATE TABLE message_search_rows (
    id        INTEGER PRIMARY KEY,
    conv_id   INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    sender_id INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    UNIQUE (conv_id, seq)
) STRICT;

-- Newest first, the order results come in.
CREATE INDEX message_search_by_time ON message_search_rows (at, conv_id, seq);

CREATE TRIGGER message_search_add AFTER INSERT ON events
WHEN NEW.kind = 'message' AND NEW.body IS NOT NULL
BEGIN
    INSERT INTO message_search_rows (conv_id, seq, sender_id, at)
    VALUES (NEW.conv_id, NEW.seq, NEW.sender_id, NEW.at);
    INSERT INTO message_search (rowid, body)
    SELECT id, NEW.body FROM message_search_rows WHERE conv_id = NEW.conv_id AND seq = NEW.seq;
END;

CREATE TRIGGER message_search_edit AFTER INSERT ON events
WHEN NEW.kind = 'edited' AND NEW.body IS NOT NULL
BEGIN
    DELETE FROM message_search WHERE rowid =
        (SELECT id FROM message_search_rows WHERE conv_id = NEW.conv_id AND seq = NEW.target_seq);
    INSERT INTO message_search (rowid, body)
    SELECT id, NEW.body FROM message_search_rows
    WHERE conv_id = NEW.conv_id AND seq = NEW.target_seq;
END;

CREATE TRIGGER message_search_drop AFTER UPDATE OF kind ON events
WHEN OLD.kind = 'message' AND NEW.kind <> 'message'
BEGIN
    DELETE FROM message_search_rows WHERE conv_id = OLD.conv_id AND seq = OLD.seq;
END;

-- A row's index entry goes with it (a deletion above, or its conversation's).

CREATE TRIGGER message_search_gone BEFORE DELETE ON message_search_rows
BEGIN
    DELETE FROM message_search WHERE rowid = OLD.id;
END;

-- What was sent before this migration: every message with its current text.
INSERT INTO message_search_rows (conv_id, seq, sender_id, at)
SELECT conv_id, seq, sender_id, at FROM events WHERE kind = 'message' AND body IS NOT NULL;
INSERT INTO message_search (rowid, body)
SELECT r.id, COALESCE(
    (SELECT e.body FROM events e
     WHERE e.conv_id = r.conv_id AND e.target_seq = r.seq AND e.kind = 'edited'
     ORDER BY e.seq DESC LIMIT 1),
    m.body)
FROM message_search_rows r JOIN events m ON m.conv_id = r.conv_id AND m.seq = r.seq;
