-- Alarm neighbours and the emergency button. An invitation is a short-lived code of which only
-- a keyed hash is stored, used once; accepting it makes the two residents a pair (stored once,
-- participant_a < participant_b), which either can end. A press of the emergency button is kept
-- for its resident (their own list) with the people it went to; its message and delivery rows
-- are the delivery engine's (`messages`, `deliveries`), written at once for that list.
CREATE TABLE alarm_invitations (
  code_hash TEXT PRIMARY KEY,
  participant_id BIGINT NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT,
  used_by BIGINT
);
CREATE INDEX alarm_invitations_participant ON alarm_invitations (participant_id);

CREATE TABLE alarm_neighbours (
  id BIGINT PRIMARY KEY,
  participant_a BIGINT NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
  participant_b BIGINT NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL,
  UNIQUE (participant_a, participant_b)
);
CREATE INDEX alarm_neighbours_b ON alarm_neighbours (participant_b);

CREATE TABLE emergency_presses (
  id BIGINT PRIMARY KEY,
  participant_id BIGINT NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
  message_id BIGINT NOT NULL,
  recipients BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  cancelled_at BIGINT,
  cancel_message_id BIGINT
);
CREATE INDEX emergency_presses_participant ON emergency_presses (participant_id, id);

CREATE TABLE emergency_recipients (
  press_id BIGINT NOT NULL REFERENCES emergency_presses (id) ON DELETE CASCADE,
  participant_id BIGINT NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
  PRIMARY KEY (press_id, participant_id)
);

INSERT INTO id_sequences (name, next_id) VALUES ('alarm_neighbours', 1), ('emergency_presses', 1);
