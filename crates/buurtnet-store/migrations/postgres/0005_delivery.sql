-- Urgent actions, information messages and their durable delivery.

-- Web Push registrations. A device belongs to a participant, or is anonymous with a location of
-- its own (then targeted like an address: by cell and exact point test). The token that lets a
-- device change or delete itself is stored as a keyed hash.
ALTER TABLE devices ADD COLUMN endpoint TEXT;
ALTER TABLE devices ADD COLUMN p256dh TEXT;
ALTER TABLE devices ADD COLUMN auth TEXT;
ALTER TABLE devices ADD COLUMN token_hash TEXT;
ALTER TABLE devices ADD COLUMN language TEXT NOT NULL DEFAULT 'nl';
ALTER TABLE devices ADD COLUMN topics BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN lat DOUBLE PRECISION;
ALTER TABLE devices ADD COLUMN lon DOUBLE PRECISION;
ALTER TABLE devices ADD COLUMN cell BIGINT;
ALTER TABLE devices ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX devices_cell ON devices (cell) WHERE participant_id IS NULL;
CREATE UNIQUE INDEX devices_token ON devices (token_hash);

-- An urgent action: what the dispatcher writes and where it stands.
CREATE TABLE actions (
  id BIGINT PRIMARY KEY,
  kind TEXT NOT NULL,
  level TEXT NOT NULL,
  status TEXT NOT NULL,
  state TEXT NOT NULL,
  area TEXT NOT NULL,
  content TEXT NOT NULL,
  outcome TEXT,
  consent_by TEXT,
  consent_at BIGINT,
  created_by BIGINT NOT NULL,
  scope TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  sent_at BIGINT,
  updated_at BIGINT NOT NULL,
  closed_at BIGINT,
  reminded_at BIGINT,
  first_message_id BIGINT
);
CREATE INDEX actions_state ON actions (state, sent_at);

-- One message to many: an action's start, update, closing or cancellation, or an information
-- message. Its fan-out (resolving recipients and writing their deliveries) is itself a job:
-- claimed with a lease, resumable (deliveries are unique per message, person, device, channel).
CREATE TABLE messages (
  id BIGINT PRIMARY KEY,
  action_id BIGINT,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  priority BIGINT NOT NULL,
  override_quiet BOOLEAN NOT NULL,
  channels BIGINT NOT NULL,
  topic TEXT NOT NULL,
  area TEXT,
  scope TEXT NOT NULL,
  content TEXT NOT NULL,
  created_by BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  send_at BIGINT NOT NULL,
  valid_until BIGINT NOT NULL,
  fanout_state TEXT NOT NULL,
  fanout_lease BIGINT NOT NULL DEFAULT 0,
  fanout_done_at BIGINT,
  recipients BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX messages_fanout ON messages (fanout_state, send_at);
CREATE INDEX messages_action ON messages (action_id);

-- The durable queue: one row per (message, person, device, channel). participant_id and
-- device_id are 0 when absent (so the unique key works on both databases). A claimed row is
-- 'sending' with next_at = its lease's end: a worker that dies leaves it to be claimed again
-- after the lease, with the same id (the provider sees the same reference).
CREATE TABLE deliveries (
  id BIGINT PRIMARY KEY,
  message_id BIGINT NOT NULL,
  participant_id BIGINT NOT NULL,
  device_id BIGINT NOT NULL,
  channel TEXT NOT NULL,
  state TEXT NOT NULL,
  priority BIGINT NOT NULL,
  next_at BIGINT NOT NULL,
  attempts BIGINT NOT NULL DEFAULT 0,
  provider_id TEXT,
  last_error TEXT,
  updated_at BIGINT NOT NULL,
  UNIQUE (message_id, participant_id, device_id, channel)
);
CREATE INDEX deliveries_due ON deliveries (priority, next_at) WHERE state IN ('pending', 'sending');
CREATE INDEX deliveries_state ON deliveries (message_id, state);
CREATE INDEX deliveries_provider ON deliveries (provider_id) WHERE provider_id IS NOT NULL;

-- A repeated request with the same Idempotency-Key (per staff account) gets the first answer.
CREATE TABLE idempotency_keys (
  user_id BIGINT NOT NULL,
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  status BIGINT NOT NULL,
  response TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (user_id, key)
);

INSERT INTO id_sequences (name, next_id) VALUES ('actions', 1), ('messages', 1), ('deliveries', 1);
