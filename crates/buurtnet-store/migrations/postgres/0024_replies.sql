-- Replies and tips in one model: a reply answers a neighbourhood enquiry (enquiry_id) or an
-- urgent action (action_id: a tip); later a conversation. Tips were replies to a hidden "tip
-- channel" enquiry per action; they move here keeping their ids (photo rows and audit entries
-- name them), their links (reply_tokens) and their photos, and the tip channels go.
ALTER TABLE replies ALTER COLUMN enquiry_id DROP NOT NULL;
ALTER TABLE replies ADD COLUMN action_id BIGINT;
UPDATE replies r SET action_id = e.action_id, enquiry_id = NULL
  FROM enquiries e WHERE e.id = r.enquiry_id AND e.action_id IS NOT NULL;
ALTER TABLE replies ADD CONSTRAINT replies_answers_one CHECK ((enquiry_id IS NULL) <> (action_id IS NULL));
CREATE INDEX replies_action ON replies (action_id, id);

ALTER TABLE reply_tokens ALTER COLUMN enquiry_id DROP NOT NULL;
ALTER TABLE reply_tokens ADD COLUMN action_id BIGINT;
UPDATE reply_tokens t SET action_id = e.action_id, enquiry_id = NULL
  FROM enquiries e WHERE e.id = t.enquiry_id AND e.action_id IS NOT NULL;
ALTER TABLE reply_tokens ADD CONSTRAINT reply_tokens_answers_one CHECK ((enquiry_id IS NULL) <> (action_id IS NULL));

-- The tip channels are gone; an action's tips are open while it is active.
DELETE FROM enquiries WHERE action_id IS NOT NULL;
ALTER TABLE enquiries DROP COLUMN action_id;
-- Which action a message starts (its recipients' links answer that action).
CREATE INDEX actions_first_message ON actions (first_message_id);
