-- The optional photo of an enquiry request (a re-encoded JPEG, base64): shown to the residents
-- in the e-mail, the push and on the reply page, so public under its random id like an
-- action's photos (/media/<id>.jpg). One per enquiry.
CREATE TABLE enquiry_photos (
  id TEXT PRIMARY KEY,
  enquiry_id BIGINT NOT NULL UNIQUE,
  width BIGINT NOT NULL,
  height BIGINT NOT NULL,
  jpeg_base64 TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
