-- The resident web app. "Where I am": a device may register a coarse cell (a few km², see
-- buurtnet_domain::cell::coarse) instead of a point; the server never receives the precise
-- position. The cell expires unless the open page renews it (coarse_until). Such a device has
-- no lat, lon or cell.
ALTER TABLE devices ADD COLUMN coarse_cell BIGINT;
ALTER TABLE devices ADD COLUMN coarse_until BIGINT;
CREATE INDEX devices_coarse ON devices (coarse_cell);
-- The recent actions of a device (its own deliveries, newest first).
CREATE INDEX deliveries_device ON deliveries (device_id, message_id) WHERE device_id <> 0;
-- A device's own pause ("no alerts for now"), one tap away in the app.
ALTER TABLE devices ADD COLUMN paused BOOLEAN NOT NULL DEFAULT FALSE;
-- A device's further fixed places (the first one is the device's own lat, lon and cell): one
-- notification per message however many of them lie in the area.
CREATE TABLE device_places (
  device_id BIGINT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  position BIGINT NOT NULL,
  lat DOUBLE PRECISION NOT NULL,
  lon DOUBLE PRECISION NOT NULL,
  cell BIGINT NOT NULL,
  PRIMARY KEY (device_id, position)
);
CREATE INDEX device_places_cell ON device_places (cell);
