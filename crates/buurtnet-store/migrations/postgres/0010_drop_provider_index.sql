-- Delivery reports find their delivery by the reference we gave the provider (the delivery's
-- own id), never by the provider's id, so this index was written on every accepted delivery
-- and read by nothing.
DROP INDEX IF EXISTS deliveries_provider;
