-- The store epoch: seqs are unique within one epoch only. It changes whenever seqs could
-- repeat (a restore from a backup), so clients know to drop their cursors. One row; the server
-- fills it in at its first start (a random value), and `admin restore` / `admin new-epoch`
-- replace it.

CREATE TABLE store_epoch (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    epoch      TEXT    NOT NULL,
    -- 1 in a copy written by `admin backup`: whichever server opens the copy first starts a new
    -- epoch, however the copy was put in place.
    renew      INTEGER NOT NULL DEFAULT 0 CHECK (renew IN (0, 1)),
    -- When the epoch was set, Unix milliseconds.
    changed_at INTEGER NOT NULL
) STRICT;
