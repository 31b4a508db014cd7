-- Full-text search over messages (issue 16); migrations/sqlite/0008_search.sql explains the
-- design. Here the index is a `tsvector` of each message's current text in the 'simple'
-- configuration (words case folded, no stemming, no stop words: chat is every language at
-- once), with a GIN index; the text itself is not stored a second time. One trigger keeps it in
-- step with `events`: a message is added, an edit replaces its message's words, a deletion
-- drops them. Membership is checked at query time.
CREATE TABLE message_search (
    conv_id   BIGINT   NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq       BIGINT   NOT NULL,
    sender_id BIGINT   NOT NULL,
    at        BIGINT   NOT NULL,
    words     tsvector NOT NULL,
    PRIMARY KEY (conv_id, seq)
);
CREATE INDEX message_search_words ON message_search USING GIN (words);
CREATE INDEX message_search_by_time ON message_search (at, conv_id, seq);

CREATE FUNCTION message_search_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' AND NEW.kind = 'message' AND NEW.body IS NOT NULL THEN
        INSERT INTO message_search (conv_id, seq, sender_id, at, words)
        VALUES (NEW.conv_id, NEW.seq, NEW.sender_id, NEW.at, to_tsvector('simple', NEW.body))
        ON CONFLICT (conv_id, seq) DO NOTHING;
    ELSIF TG_OP = 'INSERT' AND NEW.kind = 'edited' AND NEW.body IS NOT NULL THEN
        UPDATE message_search SET words = to_tsvector('simple', NEW.body)
        WHERE conv_id = NEW.conv_id AND seq = NEW.target_seq;
    ELSIF TG_OP = 'UPDATE' AND OLD.kind = 'message' AND NEW.kind <> 'message' THEN
        DELETE FROM message_search WHERE conv_id = OLD.conv_id AND seq = OLD.seq;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER message_search_track AFTER INSERT OR UPDATE OF kind ON events
FOR EACH ROW EXECUTE FUNCTION message_search_track();

-- What was sent before this migration: every message with its current text.
INSERT INTO message_search (conv_id, seq, sender_id, at, words)
SELECT m.conv_id, m.seq, m.sender_id, m.at, to_tsvector('simple', COALESCE(
    (SELECT e.body FROM events e
     WHERE e.conv_id = m.conv_id AND e.target_seq = m.seq AND e.kind = 'edited'
     ORDER BY e.seq DESC LIMIT 1),
    m.body))
FROM events m WHERE m.kind = 'message' AND m.body IS NOT NULL;
