-- The history a region brings when it moves to buurtnet (`buurtnet import-history`): its
-- earlier actions and neighbourhood enquiries as figures only, no texts and no people. They
-- feed the reports and never send anything. Imports are idempotent by the region's own
-- reference.
CREATE TABLE history_actions (
  reference TEXT PRIMARY KEY,
  -- The police unit (RE…) and the municipality (GM…) the action was for.
  region TEXT NOT NULL,
  municipality TEXT NOT NULL,
  kind TEXT NOT NULL,
  level TEXT NOT NULL,
  sent_at BIGINT NOT NULL,
  closed_at BIGINT,
  recipients BIGINT NOT NULL,
  -- direct, indirect or none; NULL where none was recorded.
  outcome TEXT,
  imported_at BIGINT NOT NULL
);
CREATE INDEX history_actions_sent ON history_actions (sent_at);

CREATE TABLE history_enquiries (
  reference TEXT PRIMARY KEY,
  municipality TEXT NOT NULL,
  incident_type TEXT NOT NULL,
  occurred_at BIGINT NOT NULL,
  sent_at BIGINT NOT NULL,
  recipients BIGINT NOT NULL,
  replies BIGINT NOT NULL,
  relevant_replies BIGINT NOT NULL,
  imported_at BIGINT NOT NULL
);
CREATE INDEX history_enquiries_sent ON history_enquiries (sent_at);
