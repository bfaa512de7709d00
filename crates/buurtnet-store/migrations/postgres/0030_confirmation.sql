-- Keeping the participant file healthy (#23): once a year a participant is asked whether they
-- still take part; without an answer within 30 days they are paused, with a reason they see on
-- their own page. Confirming (or resuming) ends it.
ALTER TABLE participants ADD COLUMN confirmed_at BIGINT;
ALTER TABLE participants ADD COLUMN confirm_asked_at BIGINT;
-- Why a participant is paused when the system paused them (`no_confirmation`); NULL when they
-- paused themselves or are not paused.
ALTER TABLE participants ADD COLUMN paused_reason TEXT;
