-- A message that does not override quiet hours (information) is fanned out again when the
-- quiet hours that kept some of its recipients out end: `fanout_again_at` is when (NULL: never).
-- The re-run adds only the people and channels not yet reached (deliveries are unique).
ALTER TABLE messages ADD COLUMN fanout_again_at BIGINT;

-- Delivery rows say who got which message: they are deleted `alerting.delivery_retention_days`
-- after a message stopped being valid (its action ended), keeping only the counts per channel
-- and state here (JSON), so that reports and the action's page still show them.
ALTER TABLE messages ADD COLUMN delivery_summary TEXT;
