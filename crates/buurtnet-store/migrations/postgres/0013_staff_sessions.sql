-- The staff console: server-side sessions (only the SHA-256 of the cookie's token is stored),
-- TOTP second factors and password-reset links.

-- A session is 'password' (the password was right, the second factor is still to come) or
-- 'full'. It ends when revoked, when idle longer than `console.session_idle_minutes`, or when
-- older than `console.session_max_hours`.
CREATE TABLE staff_sessions (
  token_hash TEXT PRIMARY KEY,
  staff_id BIGINT NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
  stage TEXT NOT NULL,
  csrf_token TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  revoked_at BIGINT
);
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id);

-- The TOTP secret (base32) while enrolling and after; `totp_enabled_at` is set once a first
-- code was right. `totp_last_step` is the last 30-second step used: a code is accepted once.
ALTER TABLE staff_users ADD COLUMN totp_secret TEXT;
ALTER TABLE staff_users ADD COLUMN totp_enabled_at BIGINT;
ALTER TABLE staff_users ADD COLUMN totp_last_step BIGINT;
-- Demo accounts may sign in without a second factor (only the demo makes them).
ALTER TABLE staff_users ADD COLUMN skip_second_factor BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE staff_password_resets (
  token_hash TEXT PRIMARY KEY,
  staff_id BIGINT NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT
);

CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor);
