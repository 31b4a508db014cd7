-- The store epoch: seqs are unique within one epoch only. It changes whenever seqs could
-- repeat (a restore), so clients know to drop their cursors. One row; the first node to start
-- fills it in (a random value), and `admin new-epoch` replaces it.

CREATE TABLE store_epoch (
    id         SMALLINT PRIMARY KEY CHECK (id = 1),
    epoch      TEXT     NOT NULL,
    -- TRUE in a copy made for a restore: the first node to open it starts a new epoch.
    renew      BOOLEAN  NOT NULL DEFAULT FALSE,
    -- When the epoch was set, Unix milliseconds.
    changed_at BIGINT   NOT NULL
);
