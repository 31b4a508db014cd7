-- Events by time: which conversations moved since a moment (a cluster node catching up after it
-- lost its live feed asks for exactly that). Same as migrations/sqlite/0003_events_by_time.sql.

CREATE INDEX events_by_time ON events (at);
