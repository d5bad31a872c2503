/**
 * The exchangeable storage, database and labeling plugins, one table per kind, selected by
 * MODELTAP_OBJECT_STORE, MODELTAP_DATABASE and MODELTAP_LABELING (docs/plugins.md). The tables are
 * typed by the names config.ts accepts, so a name cannot be valid in one and missing in the other.
 */
import type { Config } from "../config.js";
import type { LabelingBackend } from "../core/ports.js";
import type {
  BlobStore,
  CaptureRepository,
  GroundTruthRepository,
  LabelExportRepository,
  RetentionRepository,
} from "../core/ports.js";
import { FsBlobStore } from "./fs/blob-store.js";
import { LabelStudioBackend } from "./label-studio/backend.js";
import { noneBackend } from "./none-labeling.js";
import { PostgresCaptureRepository } from "./postgres/capture-repository.js";
import { PostgresGroundTruthRepository } from "./postgres/ground-truth-repository.js";
import { PostgresRetentionRepository } from "./postgres/retention-repository.js";
import { PostgresMonitorRepository } from "./postgres/monitor-repository.js";
import type { MonitorStore } from "../core/monitoring/store.js";
import { assertMigrated } from "./postgres/migrate.js";
import { createPool } from "./postgres/pool.js";
import { S3BlobStore } from "./s3/blob-store.js";

export interface ObjectStore extends BlobStore {
  /** Create the bucket or directory if needed. */
  ready(): Promise<void>;
  /** Throws unless the store answers now (the worker tells outages from bad records with it). */
  ping(): Promise<void>;
  destroy(): void;
}

export const OBJECT_STORE_PLUGINS: Record<Config["objectStore"], (c: Config) => ObjectStore> = {
  s3: (c) => {
    const s = new S3BlobStore(c.s3);
    return Object.assign(s, { ready: () => s.ensureBucket() });
  },
  fs: (c) => {
    const s = new FsBlobStore(c.fsRoot);
    return Object.assign(s, { ready: () => s.ensureRoot(), ping: () => s.ensureRoot() });
  },
};

/** Everything modeltap keeps in its database, behind the ports in src/core/ports.ts. */
export interface Database {
  captures: CaptureRepository;
  groundTruth: GroundTruthRepository;
  labelExports: LabelExportRepository;
  /** Deleting captures and what hangs off them (retention, erasure on request). */
  retention: RetentionRepository;
  /** Monitoring: profiles, buckets, results, baselines, leases. */
  monitor: MonitorStore;
  /** Fails with MIGRATIONS_PENDING when the schema is older than this build. */
  assertMigrated(): Promise<void>;
  /** Throws unless the database answers now. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const DATABASE_PLUGINS: Record<Config["database"], (c: Config, poolSize: number) => Database> = {
  postgres: (c, poolSize) => {
    const pool = createPool(c.databaseUrl, poolSize);
    const gt = new PostgresGroundTruthRepository(pool);
    return {
      captures: new PostgresCaptureRepository(pool),
      groundTruth: gt,
      labelExports: gt,
      retention: new PostgresRetentionRepository(pool),
      monitor: new PostgresMonitorRepository(pool),
      assertMigrated: () => assertMigrated(pool),
      ping: async () => {
        await pool.query("SELECT 1");
      },
      close: () => pool.end(),
    };
  },
};

export const LABELING_PLUGINS: Record<Config["labeling"], (c: Config) => LabelingBackend> = {
  none: () => noneBackend,
  label_studio: (c) =>
    new LabelStudioBackend({
      url: c.labelStudio.url,
      token: c.labelStudio.token,
      webhookUrl: `${c.publicUrl}/v1/labeling/webhook`,
      webhookSecret: c.webhookSecret,
    }),
};

export const createObjectStore = (c: Config) => OBJECT_STORE_PLUGINS[c.objectStore](c);
export const openDatabase = (c: Config, poolSize = 8) => DATABASE_PLUGINS[c.database](c, poolSize);
export const createLabelingBackend = (c: Config) => LABELING_PLUGINS[c.labeling](c);
