-- CAP 1.2 alerts imported as draft actions (POST /api/v1/cap): each sender's identifier once,
-- with the action it made (an Alert) or changed (an Update or Cancel referring to it), so the
-- same alert sent twice finds the same draft.
CREATE TABLE cap_imports (
  sender TEXT NOT NULL,
  identifier TEXT NOT NULL,
  msg_type TEXT NOT NULL,
  action_id BIGINT NOT NULL,
  imported_by BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (sender, identifier)
);
CREATE INDEX cap_imports_action ON cap_imports (action_id);
