-- Registering (or changing) a push subscription looks its endpoint up.
CREATE INDEX devices_endpoint ON devices (endpoint);
