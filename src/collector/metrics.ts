/** The collector's Prometheus metrics (documented in docs/metrics.md). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export function createCollectorMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "modeltap_collector_" });
  const m = {
    registry,
    exchanges: new Counter({
      name: "modeltap_exchanges_total",
      help: "Exchanges seen by the collector, by decision (sampled, not_sampled, no_metadata, invalid_config)",
      labelNames: ["decision", "mode"] as const,
      registers: [registry],
    }),
    gateDisagreements: new Counter({
      name: "modeltap_gate_sampled_out_total",
      help: "Streams Envoy's sampling gate opened that the collector did not sample: the gate and the route's sample_rate or MODELTAP_SAMPLING_SEED disagree (run modeltap envoy check)",
      labelNames: ["model"] as const,
      registers: [registry],
    }),
    captured: new Counter({
      name: "modeltap_captures_total",
      help: "Capture records built, by completeness",
      labelNames: ["model", "complete"] as const,
      registers: [registry],
    }),
    published: new Counter({
      name: "modeltap_captures_published_total",
      help: "Capture records acknowledged by JetStream",
      registers: [registry],
    }),
    bytes: new Counter({
      name: "modeltap_captured_body_bytes_total",
      help: "Body bytes seen on the wire for sampled exchanges, by direction",
      labelNames: ["direction"] as const,
      registers: [registry],
    }),
    drops: new Counter({
      name: "modeltap_capture_drops_total",
      help: "Capture records dropped, by reason (buffer_full, shutdown, too_large, publish_rejected)",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    publishErrors: new Counter({
      name: "modeltap_publish_errors_total",
      help: "Failed publish attempts (an outage: retried after a backoff of every sender; a refused record: retried behind the others up to MODELTAP_PUBLISH_MAX_ATTEMPTS)",
      registers: [registry],
    }),
    analysisParked: new Counter({
      name: "modeltap_analysis_parked_total",
      help: "Capture records whose analysis travelled through the JetStream object store: over the NATS server's max payload with their large bodies parked",
      registers: [registry],
    }),
    bufferDepth: new Gauge({
      name: "modeltap_publish_buffer_records",
      help: "Records waiting in the publish buffer",
      registers: [registry],
    }),
    bufferBytes: new Gauge({
      name: "modeltap_publish_buffer_bytes",
      help: "Body, input-image and analysis bytes waiting in the publish buffer",
      registers: [registry],
    }),
    publishLatency: new Histogram({
      name: "modeltap_publish_seconds",
      help: "Time from enqueue to JetStream ack",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    activeExchanges: new Gauge({
      name: "modeltap_active_exchanges",
      help: "Sampled exchanges in progress (held in collector memory)",
      registers: [registry],
    }),
    parseErrors: new Counter({
      name: "modeltap_parse_errors_total",
      help: "Captured exchanges whose protocol or prediction could not be (fully) understood, by plugin",
      labelNames: ["model", "protocol"] as const,
      registers: [registry],
    }),
    redactedFields: new Counter({
      name: "modeltap_redacted_fields_total",
      help: "JSON fields replaced by the route's redact_fields before the record left the collector",
      labelNames: ["model"] as const,
      registers: [registry],
    }),
    redactionWithheld: new Counter({
      name: "modeltap_redaction_withheld_total",
      help: "Bodies not stored because the route's redact_fields could not confirm them redacted (not JSON, JSON lines or form data; truncated; not decoded)",
      labelNames: ["model", "direction"] as const,
      registers: [registry],
    }),
    inputImagesDropped: new Counter({
      name: "modeltap_input_images_dropped_total",
      help: "Decoded input images not kept for object storage: together past the route's max_decoded_bytes (they stay inside the request body)",
      labelNames: ["model"] as const,
      registers: [registry],
    }),
    streamErrors: new Counter({
      name: "modeltap_stream_errors_total",
      help: "ext_proc streams that ended in an error other than a normal cancel",
      registers: [registry],
    }),
  };
  return m;
}

export type CollectorMetrics = ReturnType<typeof createCollectorMetrics>;
