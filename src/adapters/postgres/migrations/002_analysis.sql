-- The canonical analysis of each capture (docs/canonical-schema.md), and the parts most queried
-- pulled out: features per instance (tabular) and predictions per instance.
ALTER TABLE captures
  ADD COLUMN protocol    text NOT NULL DEFAULT '',
  ADD COLUMN parse_error text NOT NULL DEFAULT '',
  ADD COLUMN analysis    jsonb,
  ADD COLUMN features    jsonb,
  ADD COLUMN predictions jsonb;

-- Feature queries such as: WHERE features @> '[{"sepal_length": 5.1}]'.
CREATE INDEX captures_features ON captures USING gin (features jsonb_path_ops);
CREATE INDEX captures_parse_error ON captures (model) WHERE parse_error <> '';
