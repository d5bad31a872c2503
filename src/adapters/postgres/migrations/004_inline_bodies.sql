-- Small bodies that are not images (tabular JSON, short texts, CSV rows) live in the row itself:
-- one object-storage PUT per body costs far more than the row. Larger bodies and every image stay
-- in object storage, and the row keeps their key and URI as before. At most one of
-- <side>_body and <side>_object_key is set.
ALTER TABLE captures
  ADD COLUMN request_body  bytea,
  ADD COLUMN response_body bytea;
