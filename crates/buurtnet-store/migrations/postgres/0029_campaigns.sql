-- Recruitment campaigns of a municipality (#23): a name, the areas it aims at, its period and
-- the code of its sign-up link and QR code. A sign-up through that link records the campaign's
-- id on the participant, and nothing more about the campaign.
CREATE TABLE campaigns (
  id BIGINT PRIMARY KEY,
  municipality TEXT NOT NULL,
  name TEXT NOT NULL,
  -- Target areas: comma-separated CBS codes within the municipality.
  areas TEXT NOT NULL,
  -- The first and last day (YYYY-MM-DD, Dutch dates).
  starts_on TEXT NOT NULL,
  ends_on TEXT NOT NULL,
  code TEXT NOT NULL UNIQUE,
  created_by BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX campaigns_municipality ON campaigns (municipality);
ALTER TABLE participants ADD COLUMN campaign_id BIGINT;
CREATE INDEX participants_campaign ON participants (campaign_id);
INSERT INTO id_sequences (name, next_id) VALUES ('campaigns', 1);
