-- Four eyes bound to what was seen. A request or draft's version goes up with every change to
-- it (an enquiry's texts or photo, an action's photos); the approver sends back the version
-- they reviewed and the approving update only takes that version, so a photo swapped after
-- the review is never sent unseen.
ALTER TABLE enquiries ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE actions ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

-- Two-person approval of actions (`approval.second_person`, by default national AMBER Alerts):
-- who approved the draft and when. Set only by someone other than its creator; cleared when
-- the draft changes (a photo added); sending such an action needs it.
ALTER TABLE actions ADD COLUMN approved_by BIGINT;
ALTER TABLE actions ADD COLUMN approved_at BIGINT;

-- Information messages of the municipalities in `approval.information_municipalities` wait
-- (fanout_state 'held') until a second officer of the municipality approves them: who, when.
ALTER TABLE messages ADD COLUMN approved_by BIGINT;
ALTER TABLE messages ADD COLUMN approved_at BIGINT;
