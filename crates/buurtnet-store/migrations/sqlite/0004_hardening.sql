-- Hardening.
-- Link-signing keys live in the secrets file beside the server, never in the database.
DELETE FROM meta WHERE key = 'link_secret';

-- Abuse limits: fixed-window counters shared by every process. The key is a keyed hash of the
-- rule and the client address or target (phone, e-mail), never the address itself.
CREATE TABLE abuse_counters (
  key TEXT PRIMARY KEY,
  window_start BIGINT NOT NULL,
  count BIGINT NOT NULL
);
CREATE INDEX abuse_counters_window ON abuse_counters (window_start);

-- SMS codes: a budget per phone number across resends. Within 24 hours from
-- code_budget_since at most N codes are sent (code_sends) and M codes tried (code_budget_used);
-- code_attempts still counts the tries of the current code.
ALTER TABLE contacts ADD COLUMN code_budget_since BIGINT NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN code_budget_used BIGINT NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN code_sends BIGINT NOT NULL DEFAULT 0;

-- Staff API tokens expire and can be revoked; tokens made before this get the default 90 days.
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE api_tokens ADD COLUMN revoked_at BIGINT;
UPDATE api_tokens SET expires_at = created_at + 7776000000;

-- Devices that receive Web Push. Only a registered device makes push reachable for a
-- participant (the push registration itself is later work and adds its columns here).
CREATE TABLE devices (
  id BIGINT PRIMARY KEY,
  participant_id BIGINT REFERENCES participants (id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL
);
CREATE INDEX devices_participant ON devices (participant_id);
INSERT INTO id_sequences (name, next_id) VALUES ('devices', 1);

UPDATE addresses SET verified_channels = (verified_channels & 14)
  | CASE WHEN EXISTS (SELECT 1 FROM devices d WHERE d.participant_id = addresses.participant_id) THEN 1 ELSE 0 END;
