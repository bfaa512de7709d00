-- The live feed reads the tips received in the last minute once a second in every process.
CREATE INDEX replies_created ON replies (created_at);
