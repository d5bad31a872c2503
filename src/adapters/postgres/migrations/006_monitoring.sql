-- Monitoring (docs/monitoring.md). The worker inserts one partial profile per (model, version,
-- minute of received_at) for the captures it actually inserted, in the same transaction: a
-- redelivered capture adds nothing and a rolled-back batch adds nothing. Insert-only, so any number
-- of workers write them without contention.
CREATE TABLE monitor_partials (
  id          bigserial PRIMARY KEY,
  model       text NOT NULL,
  version     text NOT NULL,
  minute      timestamptz NOT NULL,
  captures    integer NOT NULL,
  profile     jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX monitor_partials_model_minute ON monitor_partials (model, minute);

-- The monitor folds partials of closed minutes into buckets (resolution 'minute'; rolled up to
-- 'hour' after a while). A partial arriving for a bucket already folded folds in again: the
-- bucket's revision goes up and the windows over it are evaluated again.
CREATE TABLE monitor_buckets (
  model       text NOT NULL,
  version     text NOT NULL,
  resolution  text NOT NULL,
  start_at    timestamptz NOT NULL,
  captures    integer NOT NULL,
  profile     jsonb NOT NULL,
  revision    integer NOT NULL DEFAULT 1,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model, version, resolution, start_at)
);
CREATE INDEX monitor_buckets_updated ON monitor_buckets (model, updated_at);

-- Quality aggregates per minute of prediction time, recomputed when labels for it arrive.
CREATE TABLE monitor_quality (
  model       text NOT NULL,
  version     text NOT NULL,
  minute      timestamptz NOT NULL,
  labeled     integer NOT NULL,
  quality     jsonb NOT NULL,
  revision    integer NOT NULL DEFAULT 1,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model, version, minute)
);

-- Evaluated windows: the latest revision of each (model, version, window, end).
CREATE TABLE monitor_results (
  model        text NOT NULL,
  version      text NOT NULL,
  window_name  text NOT NULL,
  window_end   timestamptz NOT NULL,
  revision     integer NOT NULL DEFAULT 1,
  baseline_id  text,
  captures     integer NOT NULL,
  instances    integer NOT NULL,
  labeled      integer NOT NULL DEFAULT 0,
  result       jsonb NOT NULL,
  evaluated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model, version, window_name, window_end)
);
CREATE INDEX monitor_results_latest ON monitor_results (model, window_name, window_end DESC);

-- Baselines (schema/baseline-v1.schema.json). At most one active per model.
CREATE TABLE baselines (
  id          text PRIMARY KEY,
  model       text NOT NULL,
  version     text,
  active      boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now(),
  doc         jsonb NOT NULL
);
CREATE UNIQUE INDEX baselines_one_active ON baselines (model) WHERE active;

-- Which monitor replica evaluates which model: a lease renewed while the replica lives.
CREATE TABLE monitor_leases (
  model       text PRIMARY KEY,
  owner       text NOT NULL,
  expires_at  timestamptz NOT NULL
);
CREATE TABLE monitor_replicas (
  owner       text PRIMARY KEY,
  seen_at     timestamptz NOT NULL
);

-- Counters the monitor keeps across restarts and replicas (late partials, profile errors).
CREATE TABLE monitor_counters (
  name        text NOT NULL,
  model       text NOT NULL,
  value       bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (name, model)
);

-- Per model: how far the monitor has read the labels (ground_truth.received_at).
CREATE TABLE monitor_watermarks (
  model       text NOT NULL,
  name        text NOT NULL,
  at          timestamptz NOT NULL,
  PRIMARY KEY (model, name)
);
