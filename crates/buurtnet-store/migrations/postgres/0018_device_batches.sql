-- A delivery's state changes twice (claimed, then sent): every index holding the state is
-- rewritten each time. The unique key (message_id, participant_id, device_id, channel) already
-- serves every per-message read, so the (message_id, state) index only cost writes; dead
-- letters, the one list read by state, get a small index of their own.
DROP INDEX IF EXISTS deliveries_state;
CREATE INDEX deliveries_dead ON deliveries (updated_at) WHERE state = 'dead';

-- Push deliveries to anonymous devices in batches: a national AMBER Alert reaches millions of
-- devices, and one delivery row each (written, claimed, completed) costs the database as much
-- as the push itself. A batch is a frozen part of a message's recipient set: the device ids
-- (ascending, 8 bytes each, little-endian) and the first of the delivery ids reserved for them
-- (device number i has delivery id first_id + i: the stable reference in its Topic header and
-- notification tag). A worker claims a batch under a lease, sends it, and completes it in one
-- transaction that writes a delivery row only for each device the push did not reach at once
-- (to be retried, failed or expired like any delivery); 'sent' counts the others. A batch
-- whose worker died is claimed again after its lease and sent again with the same ids.
CREATE TABLE device_batches (
  id BIGINT PRIMARY KEY,
  message_id BIGINT NOT NULL,
  first_id BIGINT NOT NULL,
  size BIGINT NOT NULL,
  lo BIGINT NOT NULL,
  hi BIGINT NOT NULL,
  devices BYTEA NOT NULL,
  state TEXT NOT NULL,
  priority BIGINT NOT NULL,
  next_at BIGINT NOT NULL,
  attempts BIGINT NOT NULL DEFAULT 0,
  sent BIGINT NOT NULL DEFAULT 0,
  updated_at BIGINT NOT NULL
);
CREATE INDEX device_batches_due ON device_batches (priority, next_at) WHERE state IN ('pending', 'sending');
CREATE INDEX device_batches_message ON device_batches (message_id);
CREATE INDEX device_batches_first ON device_batches (first_id);
CREATE INDEX device_batches_lo ON device_batches (lo);
INSERT INTO id_sequences (name, next_id) VALUES ('device_batches', 1);
