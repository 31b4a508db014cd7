-- Events by time: which conversations moved since a moment (a cluster node catching up after it
-- lost its live feed asks for exactly that).

CREATE INDEX events_by_time ON events (at);
