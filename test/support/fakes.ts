/**
 * In-memory implementations of the ports in src/core/ports.ts, one per port, for unit tests of the
 * code that uses them. Each keeps the port's documented semantics (idempotent puts and inserts,
 * a label version never replaced by an older one) and records what it was asked, so a test can
 * check both the outcome and the calls.
 */
import { CAPTURE_SUBJECT_PREFIX, subjectToken } from "../../src/adapters/nats/streams.js";
import type { Task } from "../../src/core/canonical.js";
import type { CaptureRecord } from "../../src/core/record.js";
import {
  taskKey,
  type AnnotationSnapshot,
  type BlobStore,
  type CaptureQuery,
  type CaptureRepository,
  type CaptureRow,
  type ExportClaim,
  type GroundTruthRepository,
  type GroundTruthRow,
  type GroundTruthWrite,
  type InboundMessage,
  type LabelExportRepository,
  type LabelTask,
  type LabelingBackend,
  type LabelingProject,
  type LargeBodyStore,
} from "../../src/core/ports.js";
import { encodeRecord } from "../../src/core/storage/record-codec.js";

type Key = { captureId: string; instance: number };

/** The capture index. Rows are copied in, so a test's later edits of its rows do not leak in. */
export class FakeCaptureRepository implements CaptureRepository {
  readonly rows = new Map<string, CaptureRow>();

  constructor(rows: readonly CaptureRow[] = []) {
    for (const r of rows) this.rows.set(r.id, structuredClone(r));
  }

  async insertCaptures(rows: readonly CaptureRow[]): Promise<number> {
    let inserted = 0;
    for (const r of rows) {
      if (this.rows.has(r.id)) continue;
      this.rows.set(r.id, structuredClone(r));
      inserted++;
    }
    return inserted;
  }

  /** Newest first, as the Postgres repository orders them. */
  async listCaptures(q: CaptureQuery): Promise<CaptureRow[]> {
    return [...this.rows.values()]
      .filter((r) => q.model === undefined || r.model === q.model)
      .filter((r) => q.requestId === undefined || r.requestId === q.requestId)
      .sort((a, b) => b.receivedAt.getTime() - a.receivedAt.getTime() || a.id.localeCompare(b.id))
      .slice(0, q.limit);
  }

  async getCapture(id: string): Promise<CaptureRow | undefined> {
    return this.rows.get(id);
  }
}

/** Ground truth with the Postgres repository's rules: replace only when newer, or equally new with another label. */
export class FakeGroundTruthRepository implements GroundTruthRepository {
  readonly rows = new Map<string, GroundTruthRow>();
  readonly upserts: GroundTruthWrite[][] = [];
  readonly deletes: Array<{ source: string; sourceRefs: string[]; at: Date; projectRef?: string }> = [];
  /** The project each capture instance was exported to (taskKey → project ref), for scoped deletes. */
  readonly exportedTo = new Map<string, string>();

  async upsertGroundTruth(rows: readonly GroundTruthWrite[]): Promise<number> {
    this.upserts.push([...rows]);
    let changed = 0;
    for (const w of rows) {
      const key = [w.captureId, w.requestId ?? "", w.instance, w.source, w.sourceRef].join("|");
      const old = this.rows.get(key);
      const t = w.labeledAt.getTime();
      // As the Postgres repository: never older; a repeat of the label in place changes nothing.
      const differs = JSON.stringify(old?.label) !== JSON.stringify(w.label) || old?.deleted === true;
      if (old && !(old.labeledAt.getTime() <= t && differs)) continue;
      this.rows.set(key, {
        ...w,
        requestId: w.requestId ?? "",
        deleted: false,
        receivedAt: new Date("2026-06-01T00:00:00Z"),
      });
      changed++;
    }
    return changed;
  }

  async deleteGroundTruth(
    source: string,
    sourceRefs: readonly string[],
    at: Date,
    projectRef?: string,
  ): Promise<number> {
    this.deletes.push({ source, sourceRefs: [...sourceRefs], at, ...(projectRef ? { projectRef } : {}) });
    let changed = 0;
    for (const r of this.rows.values()) {
      if (r.source !== source || !sourceRefs.includes(r.sourceRef) || r.deleted) continue;
      if (projectRef !== undefined && this.exportedTo.get(taskKey(r.captureId, r.instance)) !== projectRef)
        continue;
      r.deleted = true;
      if (at > r.labeledAt) r.labeledAt = at;
      changed++;
    }
    return changed;
  }

  async storedVersions(source: string, refs: readonly string[]): Promise<Map<string, Date>> {
    const out = new Map<string, Date>();
    for (const r of this.rows.values())
      if (r.source === source && refs.includes(r.sourceRef)) out.set(r.sourceRef, r.labeledAt);
    return out;
  }

  /** Without an export table, every label of the source counts as in the project. */
  async deleteMissing(
    source: string,
    _project: string,
    live: readonly string[],
    before: Date,
  ): Promise<number> {
    let changed = 0;
    for (const r of this.rows.values()) {
      if (r.source !== source || r.deleted || live.includes(r.sourceRef) || r.receivedAt >= before) continue;
      r.deleted = true;
      changed++;
    }
    return changed;
  }

  async groundTruthFor(captureId: string, requestId = ""): Promise<GroundTruthRow[]> {
    return [...this.rows.values()].filter(
      (r) =>
        (r.captureId !== "" && r.captureId === captureId) || (!!r.requestId && r.requestId === requestId),
    );
  }
}

/** The label-export queue: hands out the claims it was given, one batch per call, and records every mark. */
export class FakeLabelExportQueue implements LabelExportRepository {
  readonly projects = new Map<string, LabelingProject>();
  readonly exported: Array<Key & { taskRef: string; projectRef: string }> = [];
  readonly skipped: Array<{ keys: string[]; reason: string }> = [];
  readonly retried: Array<{ keys: string[]; error: string; retryAt: Date | null }> = [];
  readonly saved: LabelingProject[] = [];
  readonly claimCalls: Array<{ limit: number; leaseMs: number }> = [];
  locks = 0;

  constructor(
    private readonly claims: ExportClaim[][] = [],
    readonly counts: Record<string, number> = {},
  ) {}

  async claimExports(limit: number, leaseMs: number): Promise<ExportClaim[]> {
    this.claimCalls.push({ limit, leaseMs });
    return this.claims.shift() ?? [];
  }
  async markExported(done: ReadonlyArray<Key & { taskRef: string; projectRef: string }>): Promise<void> {
    this.exported.push(...done);
  }
  async markSkipped(ks: readonly Key[], reason: string): Promise<void> {
    this.skipped.push({ keys: taskKeys(ks), reason });
  }
  async markRetry(ks: readonly Key[], error: string, retryAt: Date | null): Promise<void> {
    this.retried.push({ keys: taskKeys(ks), error, retryAt });
  }
  async exportCounts(): Promise<Record<string, number>> {
    return this.counts;
  }
  /** The latest markExported of this capture instance. */
  async exportedTask(captureId: string, instance: number) {
    const e = [...this.exported].reverse().find((x) => x.captureId === captureId && x.instance === instance);
    return e ? { taskRef: e.taskRef, projectRef: e.projectRef } : undefined;
  }
  async getProject(backend: string, model: string): Promise<LabelingProject | undefined> {
    return this.projects.get(`${backend}/${model}`);
  }
  async listProjects(backend: string): Promise<LabelingProject[]> {
    return [...this.projects.values()].filter((p) => p.backend === backend);
  }
  async withProjectLock<T>(_backend: string, _model: string, fn: () => Promise<T>): Promise<T> {
    this.locks++;
    return fn();
  }
  async saveProject(p: LabelingProject): Promise<void> {
    this.saved.push(p);
    this.projects.set(`${p.backend}/${p.model}`, p);
  }
}

/** taskKey of each, the way the fakes record claims. */
export const taskKeys = (ks: readonly Key[]): string[] => ks.map((k) => taskKey(k.captureId, k.instance));

/**
 * A labeling tool that makes projects "100", "101", … and task "t-<capture>-<instance>", and holds
 * no annotations. Set failWith to make every project and import call fail with it.
 */
export class FakeLabelingBackend implements LabelingBackend {
  readonly name = "fake";
  readonly source = "fake";
  readonly ensured: Array<{
    model: string;
    task: Task;
    labels: string[];
    existing: LabelingProject | undefined;
  }> = [];
  readonly created: Array<{ projectRef: string; tasks: LabelTask[]; mayExist: boolean }> = [];
  failWith: Error | undefined;
  private nextProject = 100;

  async ensureProject(
    model: string,
    task: Task,
    labels: readonly string[],
    existing?: LabelingProject,
  ): Promise<string> {
    this.ensured.push({ model, task, labels: [...labels], existing });
    if (this.failWith) throw this.failWith;
    return existing && existing.task === task ? existing.projectRef : String(this.nextProject++);
  }
  async createTasks(
    projectRef: string,
    tasks: readonly LabelTask[],
    mayExist: boolean,
  ): Promise<Map<string, string>> {
    this.created.push({ projectRef, tasks: [...tasks], mayExist });
    if (this.failWith) throw this.failWith;
    return new Map(tasks.map((t) => [taskKey(t.captureId, t.instance), `t-${t.captureId}-${t.instance}`]));
  }
  async listAnnotations(): Promise<AnnotationSnapshot[]> {
    return [];
  }
  parseWebhook(): never {
    throw new Error("the fake labeling backend receives no webhooks");
  }
  toLabel(): never {
    throw new Error("the fake labeling backend converts no annotations");
  }
}

/** Object storage. Set failWith to make every put fail with it (an object store that does not answer). */
export class FakeBlobStore implements BlobStore {
  readonly objects = new Map<string, Uint8Array>();
  failWith: Error | undefined;

  async put(key: string, body: Uint8Array): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.objects.set(key, body);
  }
  async get(key: string): Promise<Uint8Array | undefined> {
    return this.objects.get(key);
  }
  uri(key: string): string {
    return `s3://bucket/${key}`;
  }
  async delete(key: string): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.objects.delete(key);
  }
  async list(prefix: string, limit: number): Promise<string[]> {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).slice(0, limit);
  }
}

/** The large-body store: empty unless given bodies by ref. */
export class FakeLargeBodyStore implements LargeBodyStore {
  readonly bodies: Map<string, Uint8Array>;
  constructor(bodies: Iterable<[string, Uint8Array]> = []) {
    this.bodies = new Map(bodies);
  }
  async get(ref: string): Promise<Uint8Array | undefined> {
    return this.bodies.get(ref);
  }
  async delete(ref: string): Promise<void> {
    this.bodies.delete(ref);
  }
}

/** How the worker settled the messages it was handed (several messages may share one tally). */
export interface Settled {
  acked: number;
  /** The redelivery delay of each nak, in ms. */
  naked: number[];
  /** The reason of each dead letter. */
  deadLettered: string[];
  /** "Still working" signals sent (absent until the first). */
  working?: number;
}

/** A tally with nothing settled yet. */
export const nothingSettled = (): Settled => ({ acked: 0, naked: [], deadLettered: [] });

/** A record as the broker delivers it to the worker (on the collector's subject), for the deliveryCount-th time. */
export function inboundMessage(
  record: CaptureRecord,
  deliveryCount: number,
  settled: Settled,
): InboundMessage {
  return {
    data: encodeRecord(record),
    subject: `${CAPTURE_SUBJECT_PREFIX}.${subjectToken(record.model)}`,
    deliveryCount,
    ack: async () => void settled.acked++,
    nak: (delayMs) => void settled.naked.push(delayMs),
    working: () => void (settled.working = (settled.working ?? 0) + 1),
    deadLetter: async (reason) => void settled.deadLettered.push(reason),
  };
}
