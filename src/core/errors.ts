/**
 * Typed errors. Every error modeltap raises on purpose is a ModeltapError with a stable code from
 * ERROR_CODES; docs/errors.md documents the same table and a unit test keeps the two in sync.
 */
export const ERROR_CODES = {
  CONFIG_INVALID: "configuration (environment or flags) failed validation",
  COLLECTOR_INSECURE_BIND:
    "the collector would serve plaintext gRPC on an address other than loopback; it needs TLS or MODELTAP_COLLECTOR_INSECURE=1",
  ROUTE_CONFIG_INVALID:
    "the modeltap metadata on an Envoy route failed validation; the route is not captured",
  ENVOY_CONFIG_INVALID:
    "`modeltap envoy gate` cannot gate this Envoy config as it is (the message names each route or filter and why)",
  ROUTE_METADATA_UNPARSABLE: "Envoy's xds.route_metadata attribute could not be parsed",
  RECORD_DECODE_FAILED: "a capture record on JetStream could not be decoded",
  MIGRATIONS_PENDING: "the database schema is older than this build; run `modeltap migrate`",
  STORAGE_FAILED: "a write to object storage or the database failed",
  STACK_FAILED: "a local-stack service could not be installed or started",
  DEPENDENCY_CHANGED:
    "a dependency no longer has the internals modeltap works around (the message names them); keep the version in package-lock.json",
  NOT_FOUND: "the requested capture, or the body, image or mask asked of it, does not exist",
  AMBIGUOUS_ID:
    "a request id given where one capture is meant names several captures (the request's hops); give one of their capture ids",
  LABELING_FAILED: "a call to the labeling tool (Label Studio) failed; the export is retried",
  PUBLISH_REJECTED:
    "JetStream refused one capture record (too large even through the object store, or rejected): it is retried behind the others, then dropped and counted",
  DATASET_INVALID:
    "a training dataset file could not be read: unknown format, malformed, or over a limit (the message names the line, column or limit)",
  BASELINE_INVALID:
    "a baseline file is not a modeltap.baseline/v1 document (the message names the first wrong field)",
  BASELINE_EXISTS: "a baseline with this id is already stored; baselines are versioned, never replaced",
  BASELINE_NOT_FOUND: "no stored baseline has this id",
  NO_BASELINE:
    "the model has no active baseline to compare with; create one (`modeltap baseline create`) or compare with a window (`--against previous|A..B`)",
  UNKNOWN_MODEL: "no capture, profile or baseline names this model",
  TOO_FEW_INSTANCES:
    "the window holds fewer values than the baseline's min_count: drift is not judged (and nothing alerts) below it",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class ModeltapError extends Error {
  override name = "ModeltapError";
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export class ConfigError extends ModeltapError {
  override name = "ConfigError";
  /** Every problem found, each as "path: what is wrong". */
  readonly problems: readonly string[];

  constructor(problems: readonly string[], code: ErrorCode = "CONFIG_INVALID") {
    super(code, `invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.problems = problems;
  }
}

export class RecordDecodeError extends ModeltapError {
  override name = "RecordDecodeError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("RECORD_DECODE_FAILED", message, options);
  }
}

export class StorageError extends ModeltapError {
  override name = "StorageError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("STORAGE_FAILED", message, options);
  }
}

/**
 * One record the broker will not take, while it takes others (not an outage). `permanent`: no retry
 * can help (the record is over the server's max payload with every body parked).
 */
export class PublishRejectedError extends ModeltapError {
  override name = "PublishRejectedError";
  readonly permanent: boolean;
  constructor(message: string, options: { permanent: boolean; cause?: unknown }) {
    super("PUBLISH_REJECTED", message, options);
    this.permanent = options.permanent;
  }
}

/** A training dataset file (`baseline create --file`) that is malformed or over a limit. */
export class DatasetError extends ModeltapError {
  override name = "DatasetError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("DATASET_INVALID", message, options);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A webhook payload or annotation the backend cannot understand (answered with 400). */
export class LabelingPayloadError extends Error {
  override name = "LabelingPayloadError";
}

/** The project a task import targeted no longer exists in the tool (deleted by someone). */
export class ProjectGoneError extends Error {
  override name = "ProjectGoneError";
}
