-- Imports of official area files (CBS Wijk- en buurtkaart, gebiedsindelingen, postcode4): one
-- row per file, with the year it describes, where it came from and its SHA-256, so what the
-- stored areas are made of can always be told and checked.
CREATE TABLE area_imports (
  id BIGINT PRIMARY KEY,
  imported_at BIGINT NOT NULL,
  kind TEXT NOT NULL,
  year BIGINT,
  file_name TEXT NOT NULL,
  size_bytes BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  source_url TEXT,
  levels TEXT NOT NULL,
  areas BIGINT NOT NULL
);
INSERT INTO id_sequences (name, next_id) VALUES ('area_imports', 1);
