-- A change feed for the in-memory targeting replica of every process: each transaction that
-- changes participants, their contacts or addresses appends one row naming the participant ids
-- it touched. `seq` is taken (from id_sequences) as the transaction's last statement, so on
-- PostgreSQL the row lock orders commits: readers never see a later seq before an earlier one.
CREATE TABLE changes (
  seq BIGINT PRIMARY KEY,
  participant_lo BIGINT NOT NULL,
  participant_hi BIGINT NOT NULL,
  at BIGINT NOT NULL
);
INSERT INTO id_sequences (name, next_id) VALUES ('changes', 1);
