-- Staff second factor hardening (security review, issue #19).

-- An enrolment's pending TOTP secret belongs to one session (made anew for each view of the
-- enrolment page, encrypted like the confirmed one); `staff_users.totp_secret` holds only a
-- confirmed secret from now on. `totp_failures` counts wrong codes given in this session: the
-- fifth ends it.
ALTER TABLE staff_sessions ADD COLUMN pending_totp_secret TEXT;
ALTER TABLE staff_sessions ADD COLUMN totp_failures BIGINT NOT NULL DEFAULT 0;

-- Wrong codes of an account within a day (from `totp_failures_since`); the tenth locks the
-- second factor (`totp_locked_at`) until an admin resets it.
ALTER TABLE staff_users ADD COLUMN totp_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE staff_users ADD COLUMN totp_failures_since BIGINT;
ALTER TABLE staff_users ADD COLUMN totp_locked_at BIGINT;
