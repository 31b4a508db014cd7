-- Notification settings: each member's notify level and mute for a conversation (they leave
-- with the membership), and each user's "do not disturb".

ALTER TABLE members ADD COLUMN notify TEXT NOT NULL DEFAULT 'mentions'
    CHECK (notify IN ('all', 'mentions', 'none'));
ALTER TABLE members ADD COLUMN muted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN do_not_disturb INTEGER NOT NULL DEFAULT 0;
