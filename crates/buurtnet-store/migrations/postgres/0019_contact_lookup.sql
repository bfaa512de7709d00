-- A worker reads each claimed delivery's contact point by (participant, kind). With only the
-- participant index, PostgreSQL's planner, without fresh statistics after a large import,
-- combined it with the (kind, value) key and read every contact of that kind for each
-- delivery: 150 ms of a 180 ms claim of 500 deliveries. One index on both columns answers
-- the lookup directly; it also serves every read by participant alone.
CREATE INDEX contacts_participant_kind ON contacts (participant_id, kind);
DROP INDEX IF EXISTS contacts_participant;
