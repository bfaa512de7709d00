-- Signed links that work once for some purpose (a self-service link links one device at most):
-- the keyed hash of each spent link, kept until the link would have expired anyway.
CREATE TABLE spent_links (
  token_hash TEXT PRIMARY KEY,
  expires_at BIGINT NOT NULL
);
CREATE INDEX spent_links_expires ON spent_links (expires_at);
