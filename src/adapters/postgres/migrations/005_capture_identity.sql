-- Capture identity (docs/record.md). A capture's id is now the collector's UUIDv7, unique per
-- exchange and per Envoy hop; the exchange's x-request-id, shared by every hop of one request, is
-- a correlation field. Rows from before keep their id (it was the x-request-id) and get it as
-- their request_id too.
ALTER TABLE captures
  ADD COLUMN request_id text NOT NULL DEFAULT '',
  -- "request_id": a seeded hash of x-request-id decided; "random": there was none, a random draw did.
  ADD COLUMN sampled_by text NOT NULL DEFAULT 'request_id';

UPDATE captures SET request_id = id;

CREATE INDEX captures_request_id ON captures (request_id);

-- A label posted by request id belongs to the request: to every capture (hop) of it, persisted
-- before or after the label. Such a row has capture_id '' and the request id here; a label of one
-- capture has request_id ''.
ALTER TABLE ground_truth ADD COLUMN request_id text NOT NULL DEFAULT '';
ALTER TABLE ground_truth DROP CONSTRAINT ground_truth_pkey;
ALTER TABLE ground_truth ADD PRIMARY KEY (capture_id, request_id, instance, source, source_ref);
CREATE INDEX ground_truth_request_id ON ground_truth (request_id) WHERE request_id <> '';

-- Labels kept for a capture not persisted yet were posted by the x-request-id that was the
-- capture's id; captures from now on have ids of their own, so such a label belongs to the request.
UPDATE ground_truth g SET request_id = g.capture_id, capture_id = ''
 WHERE NOT EXISTS (SELECT 1 FROM captures c WHERE c.id = g.capture_id);
