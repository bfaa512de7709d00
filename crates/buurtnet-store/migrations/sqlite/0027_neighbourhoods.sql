-- Neighbourhood conversations (Mijnbuur). Membership follows the verified home addresses (a
-- home address of a participant with a verified contact point): its neighbourhood and its street
-- (the street of its address point). Joining stores only the chosen display name and when the
-- house rules were accepted; neighbours see that name with the street, never a contact point or
-- a house number.
CREATE TABLE neighbourhood_members (
  participant_id BIGINT PRIMARY KEY REFERENCES participants (id) ON DELETE CASCADE,
  display_name TEXT NOT NULL,
  house_rules_accepted_at BIGINT NOT NULL,
  joined_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

-- Adjacent neighbourhoods a member follows read-only (conversations to the whole neighbourhood).
CREATE TABLE neighbourhood_follows (
  participant_id BIGINT NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
  neighbourhood_code TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (participant_id, neighbourhood_code)
);
CREATE INDEX neighbourhood_follows_code ON neighbourhood_follows (neighbourhood_code);

-- A conversation: its category (news, help, nuisance, trouble) and audience (a street or the
-- whole neighbourhood). Started by a member (started_by_participant) or an official
-- (started_by_staff).
CREATE TABLE conversations (
  id BIGINT PRIMARY KEY,
  category TEXT NOT NULL,
  audience TEXT NOT NULL,
  neighbourhood_code TEXT NOT NULL,
  municipality_code TEXT NOT NULL,
  street TEXT,
  title TEXT NOT NULL,
  started_by_participant BIGINT REFERENCES participants (id) ON DELETE SET NULL,
  started_by_staff BIGINT REFERENCES staff_users (id) ON DELETE SET NULL,
  closed_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX conversations_neighbourhood ON conversations (neighbourhood_code, id);
CREATE INDEX conversations_street ON conversations (municipality_code, street, id);

-- The messages of a conversation, by a member (participant_id, with the street they wrote from)
-- or an official (staff_user_id, shown by their kind: official).
CREATE TABLE conversation_messages (
  id BIGINT PRIMARY KEY,
  conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  participant_id BIGINT REFERENCES participants (id) ON DELETE CASCADE,
  author_street TEXT,
  staff_user_id BIGINT REFERENCES staff_users (id) ON DELETE SET NULL,
  official TEXT,
  body TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX conversation_messages_conversation ON conversation_messages (conversation_id, id);
CREATE INDEX conversation_messages_participant ON conversation_messages (participant_id);

-- The officials added to a conversation (invited by a participant, or its starter). The only way
-- a staff member reads a conversation: every staff query joins on this table.
CREATE TABLE conversation_officials (
  conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  staff_user_id BIGINT NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
  official TEXT NOT NULL,
  invited_by_participant BIGINT,
  added_at BIGINT NOT NULL,
  PRIMARY KEY (conversation_id, staff_user_id)
);
CREATE INDEX conversation_officials_staff ON conversation_officials (staff_user_id, conversation_id);

INSERT INTO id_sequences (name, next_id) VALUES ('conversations', 1), ('conversation_messages', 1);
