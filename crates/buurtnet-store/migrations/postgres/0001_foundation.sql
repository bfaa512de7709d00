-- Foundation: geography, participants, staff, audit, sandbox. Times are Unix milliseconds (UTC).
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

-- Identifier blocks, taken with one UPDATE ... RETURNING so several processes never collide.
CREATE TABLE id_sequences (name TEXT PRIMARY KEY, next_id BIGINT NOT NULL);
INSERT INTO id_sequences (name, next_id) VALUES
  ('participants', 1), ('contacts', 1), ('addresses', 1), ('staff_users', 1),
  ('api_tokens', 1), ('audit_log', 1), ('sandbox_messages', 1);

CREATE TABLE areas (
  code TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  level TEXT NOT NULL,
  parent_code TEXT,
  province_code TEXT,
  inhabitants BIGINT,
  min_lon DOUBLE PRECISION NOT NULL,
  min_lat DOUBLE PRECISION NOT NULL,
  max_lon DOUBLE PRECISION NOT NULL,
  max_lat DOUBLE PRECISION NOT NULL,
  geometry TEXT NOT NULL,
  geometry_simplified TEXT NOT NULL
);
CREATE INDEX areas_level_parent ON areas (level, parent_code);

-- Offline geocoding table: address points by postcode and house number.
CREATE TABLE address_points (
  postcode TEXT NOT NULL,
  house_number TEXT NOT NULL,
  street TEXT,
  city TEXT,
  lat DOUBLE PRECISION NOT NULL,
  lon DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (postcode, house_number)
);

CREATE TABLE participants (
  id BIGINT PRIMARY KEY,
  external_id TEXT UNIQUE,
  language TEXT NOT NULL,
  topics BIGINT NOT NULL,
  age_confirmed BOOLEAN NOT NULL,
  paused BOOLEAN NOT NULL,
  municipality_code TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX participants_municipality ON participants (municipality_code);

CREATE TABLE contacts (
  id BIGINT PRIMARY KEY,
  participant_id BIGINT NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  value TEXT NOT NULL,
  mobile BOOLEAN NOT NULL,
  verified_at BIGINT,
  code_hash TEXT,
  code_expires_at BIGINT,
  code_attempts BIGINT NOT NULL DEFAULT 0,
  UNIQUE (kind, value)
);
CREATE INDEX contacts_participant ON contacts (participant_id);

CREATE TABLE addresses (
  id BIGINT PRIMARY KEY,
  participant_id BIGINT NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  postcode TEXT,
  house_number TEXT,
  lat DOUBLE PRECISION NOT NULL,
  lon DOUBLE PRECISION NOT NULL,
  approximate BOOLEAN NOT NULL,
  cell BIGINT NOT NULL,
  neighbourhood_code TEXT,
  district_code TEXT,
  municipality_code TEXT,
  pc4 TEXT,
  safety_region_code TEXT,
  police_unit_code TEXT,
  province_code TEXT,
  channels BIGINT NOT NULL,
  quiet_hours TEXT NOT NULL
);
CREATE INDEX addresses_participant ON addresses (participant_id);
CREATE INDEX addresses_cell ON addresses (cell);
CREATE INDEX addresses_municipality ON addresses (municipality_code);

CREATE TABLE staff_users (
  id BIGINT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  role TEXT NOT NULL,
  scope TEXT NOT NULL,
  disabled BOOLEAN NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE api_tokens (
  id BIGINT PRIMARY KEY,
  user_id BIGINT NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
  token_hash TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL
);

-- Staff actions. Never personal data of residents: ids and codes only.
CREATE TABLE audit_log (
  id BIGINT PRIMARY KEY,
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT,
  details TEXT NOT NULL
);

-- What the built-in sandbox providers "sent".
CREATE TABLE sandbox_messages (
  id BIGINT PRIMARY KEY,
  at BIGINT NOT NULL,
  channel TEXT NOT NULL,
  recipient TEXT NOT NULL,
  subject TEXT,
  body TEXT NOT NULL
);
CREATE INDEX sandbox_messages_recipient ON sandbox_messages (recipient);
