-- Ground truth and the labeling-tool loop (docs/ground-truth.md).

-- The route's labeling settings, carried on each capture.
ALTER TABLE captures
  ADD COLUMN label_rate double precision NOT NULL DEFAULT 0,
  ADD COLUMN label_set  jsonb NOT NULL DEFAULT '[]';

-- True labels, in the canonical schema, per capture instance and source. Not a foreign key on
-- purpose: a label may arrive before its capture is persisted and is joined when it is.
-- source_ref tells labels of one source apart (a Label Studio annotation id; '' for the API).
CREATE TABLE ground_truth (
  capture_id   text NOT NULL,
  instance     integer NOT NULL DEFAULT 0,
  source       text NOT NULL,
  source_ref   text NOT NULL DEFAULT '',
  label        jsonb,
  deleted      boolean NOT NULL DEFAULT false,
  -- When the labeler (or the source system) made this version; older redeliveries never win.
  labeled_at   timestamptz NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (capture_id, instance, source, source_ref)
);
CREATE INDEX ground_truth_source_ref ON ground_truth (source, source_ref);

-- Captures chosen for the labeling tool (label_rate), one row per capture instance. The worker
-- inserts them with the capture; the exporter claims due rows, creates tasks, and marks them.
CREATE TABLE label_exports (
  capture_id       text NOT NULL,
  instance         integer NOT NULL,
  model            text NOT NULL,
  state            text NOT NULL DEFAULT 'pending', -- pending | exporting | exported | skipped | failed
  attempts         integer NOT NULL DEFAULT 0,
  last_error       text NOT NULL DEFAULT '',
  task_ref         text,
  project_ref      text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  first_claimed_at timestamptz,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  exported_at      timestamptz,
  PRIMARY KEY (capture_id, instance)
);
CREATE INDEX label_exports_due ON label_exports (next_attempt_at) WHERE state IN ('pending', 'exporting');

-- One labeling-tool project per backend and model.
CREATE TABLE labeling_projects (
  backend      text NOT NULL,
  model        text NOT NULL,
  project_ref  text NOT NULL,
  task         text NOT NULL,
  label_set    jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (backend, model)
);
