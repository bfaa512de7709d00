-- Neighbourhood enquiries (digitaal buurtonderzoek): a requester asks, another person approves
-- (four eyes), the enquiry goes out as a message to the participants near the incident, and
-- their replies (with photos, kept in a folder outside the database) reach the handlers.
CREATE TABLE enquiries (
  id BIGINT PRIMARY KEY,
  -- The team: the requester's scope code (GM…, RE…, NL).
  scope TEXT NOT NULL,
  -- The municipality the incident lies in (what handlers are scoped by).
  municipality TEXT NOT NULL,
  incident_type TEXT NOT NULL,
  occurred_at BIGINT NOT NULL,
  lat DOUBLE PRECISION NOT NULL,
  lon DOUBLE PRECISION NOT NULL,
  radius_m BIGINT NOT NULL,
  description TEXT NOT NULL,
  questions TEXT NOT NULL,
  -- requested → sent (approved) → closed; requested → returned.
  state TEXT NOT NULL,
  return_comment TEXT,
  requested_by BIGINT NOT NULL,
  decided_by BIGINT,
  message_id BIGINT,
  -- Tips during an urgent action: the action whose recipients may send tips this way (its
  -- control room's dispatchers see them). NULL for a neighbourhood enquiry.
  action_id BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  sent_at BIGINT,
  closed_at BIGINT
);
CREATE INDEX enquiries_municipality ON enquiries (municipality, state);
CREATE UNIQUE INDEX enquiries_message ON enquiries (message_id);

-- Personal reply links: only the SHA-256 of the token is kept; bound to one person and one
-- enquiry; one reply per link.
CREATE TABLE reply_tokens (
  token_hash TEXT PRIMARY KEY,
  enquiry_id BIGINT NOT NULL,
  participant_id BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT
);
CREATE INDEX reply_tokens_enquiry ON reply_tokens (enquiry_id, participant_id);

CREATE TABLE replies (
  id BIGINT PRIMARY KEY,
  enquiry_id BIGINT NOT NULL,
  participant_id BIGINT NOT NULL,
  text TEXT NOT NULL,
  phone TEXT,
  language TEXT NOT NULL,
  -- new → classified → answered (handled).
  status TEXT NOT NULL,
  classification TEXT,
  forwarded_at BIGINT,
  answer TEXT,
  answered_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX replies_enquiry ON replies (enquiry_id, id);

-- A reply's photos: re-encoded JPEGs in the content-addressed photo folder (named by their
-- SHA-256); deleted by the retention rule some time after the enquiry closes.
CREATE TABLE reply_photos (
  id TEXT PRIMARY KEY,
  reply_id BIGINT NOT NULL,
  position BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  width BIGINT NOT NULL,
  height BIGINT NOT NULL,
  bytes BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX reply_photos_reply ON reply_photos (reply_id, position);
CREATE INDEX reply_photos_sha ON reply_photos (sha256);

INSERT INTO id_sequences (name, next_id) VALUES ('enquiries', 1), ('replies', 1);
