-- Photos of an action (re-encoded JPEG, base64, at most a few per action): sent by push, in
-- the app and by e-mail, never by SMS or voice. `id` is random and public: the photo's URL.
CREATE TABLE action_photos (
  id TEXT PRIMARY KEY,
  action_id BIGINT NOT NULL,
  position BIGINT NOT NULL,
  width BIGINT NOT NULL,
  height BIGINT NOT NULL,
  jpeg_base64 TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX action_photos_action ON action_photos (action_id, position);
