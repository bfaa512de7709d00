-- Replies and tips in one model: a reply answers a neighbourhood enquiry (enquiry_id) or an
-- urgent action (action_id: a tip); later a conversation. Tips were replies to a hidden "tip
-- channel" enquiry per action; they move here keeping their ids (photo rows and audit entries
-- name them), their links (reply_tokens) and their photos, and the tip channels go.
-- SQLite cannot drop a NOT NULL, so both tables are rebuilt.
CREATE TABLE replies_new (
  id BIGINT PRIMARY KEY,
  enquiry_id BIGINT,
  action_id BIGINT,
  participant_id BIGINT NOT NULL,
  text TEXT NOT NULL,
  phone TEXT,
  language TEXT NOT NULL,
  status TEXT NOT NULL,
  classification TEXT,
  forwarded_at BIGINT,
  answer TEXT,
  answered_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  CONSTRAINT replies_answers_one CHECK ((enquiry_id IS NULL) <> (action_id IS NULL))
);
INSERT INTO replies_new (id, enquiry_id, action_id, participant_id, text, phone, language, status, classification,
    forwarded_at, answer, answered_at, created_at, updated_at)
  SELECT r.id, CASE WHEN e.action_id IS NULL THEN r.enquiry_id END, e.action_id, r.participant_id, r.text, r.phone,
    r.language, r.status, r.classification, r.forwarded_at, r.answer, r.answered_at, r.created_at, r.updated_at
  FROM replies r LEFT JOIN enquiries e ON e.id = r.enquiry_id;
DROP TABLE replies;
ALTER TABLE replies_new RENAME TO replies;
CREATE INDEX replies_enquiry ON replies (enquiry_id, id);
CREATE INDEX replies_action ON replies (action_id, id);
CREATE INDEX replies_created ON replies (created_at);

CREATE TABLE reply_tokens_new (
  token_hash TEXT PRIMARY KEY,
  enquiry_id BIGINT,
  action_id BIGINT,
  participant_id BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT,
  CONSTRAINT reply_tokens_answers_one CHECK ((enquiry_id IS NULL) <> (action_id IS NULL))
);
INSERT INTO reply_tokens_new (token_hash, enquiry_id, action_id, participant_id, created_at, expires_at, used_at)
  SELECT t.token_hash, CASE WHEN e.action_id IS NULL THEN t.enquiry_id END, e.action_id, t.participant_id, t.created_at,
    t.expires_at, t.used_at
  FROM reply_tokens t LEFT JOIN enquiries e ON e.id = t.enquiry_id;
DROP TABLE reply_tokens;
ALTER TABLE reply_tokens_new RENAME TO reply_tokens;
CREATE INDEX reply_tokens_enquiry ON reply_tokens (enquiry_id, participant_id);

-- The tip channels are gone; an action's tips are open while it is active.
DELETE FROM enquiries WHERE action_id IS NOT NULL;
ALTER TABLE enquiries DROP COLUMN action_id;
-- Which action a message starts (its recipients' links answer that action).
CREATE INDEX actions_first_message ON actions (first_message_id);
