-- Targeting reads one table: each address carries its owner's topics and paused flag and the
-- channels whose contact point is verified (push 1 | sms 2 if a verified mobile | voice 4 if a
-- verified phone | email 8 if a verified address). Kept in step by the store on every change.
ALTER TABLE addresses ADD COLUMN topics BIGINT NOT NULL DEFAULT 0;
ALTER TABLE addresses ADD COLUMN paused BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE addresses ADD COLUMN verified_channels BIGINT NOT NULL DEFAULT 0;

UPDATE addresses SET
  topics = (SELECT p.topics FROM participants p WHERE p.id = addresses.participant_id),
  paused = (SELECT p.paused FROM participants p WHERE p.id = addresses.participant_id),
  verified_channels = 1
    | CASE WHEN EXISTS (SELECT 1 FROM contacts c WHERE c.participant_id = addresses.participant_id AND c.kind = 'phone' AND c.verified_at IS NOT NULL AND c.mobile) THEN 2 ELSE 0 END
    | CASE WHEN EXISTS (SELECT 1 FROM contacts c WHERE c.participant_id = addresses.participant_id AND c.kind = 'phone' AND c.verified_at IS NOT NULL) THEN 4 ELSE 0 END
    | CASE WHEN EXISTS (SELECT 1 FROM contacts c WHERE c.participant_id = addresses.participant_id AND c.kind = 'email' AND c.verified_at IS NOT NULL) THEN 8 ELSE 0 END;
