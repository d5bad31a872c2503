-- Minutes (of prediction time) whose labels changed and whose quality the monitor has not
-- recomputed yet. The monitor queues them with its label watermark in one transaction and works
-- through a bounded number per cycle in queue order (`seq`), so a bulk import of labels neither
-- stalls a cycle nor is lost to a restart. A minute queued again while pending keeps its place;
-- one queued again after it was recomputed goes to the back. The monitor's label scan looks a
-- minute behind its watermark, so a label that commits while its minute is being recomputed is
-- read again and queues the minute once more.
CREATE TABLE monitor_quality_pending (
  model    text NOT NULL,
  version  text NOT NULL,
  minute   timestamptz NOT NULL,
  seq      bigserial,
  PRIMARY KEY (model, version, minute)
);
CREATE INDEX monitor_quality_pending_queue ON monitor_quality_pending (model, seq);
