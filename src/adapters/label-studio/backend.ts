/**
 * The Label Studio labeling backend: one project per model with a labeling config for its task,
 * tasks imported in batches with the model's prediction as a pre-annotation, and a project webhook
 * (ANNOTATION_CREATED / ANNOTATION_UPDATED / ANNOTATIONS_DELETED) that carries the webhook secret,
 * the only modeltap secret Label Studio holds (every member of the organisation can read it).
 */
import type { Prediction } from "../../core/canonical.js";
import {
  type AnnotationSnapshot,
  taskKey,
  type LabelTask,
  type LabelingBackend,
  type LabelingEvent,
} from "../../core/ports.js";
import { LabelingPayloadError, ProjectGoneError } from "../../core/errors.js";
import type { LabelingProject } from "../../core/ports.js";
import type { Task } from "../../core/canonical.js";
import { LabelStudioClient, LabelStudioError } from "./client.js";
import { fromLsResult, labelConfig, LabelingFormatError, toLsResult } from "./convert.js";

export const WEBHOOK_ACTIONS = ["ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED"] as const;

export interface LabelStudioOptions {
  url: string;
  token: string;
  /** Where Label Studio reaches modeltap's webhook receiver. */
  webhookUrl: string;
  /** Sent by Label Studio as "Authorization: Bearer <secret>" on every webhook call
   * (MODELTAP_WEBHOOK_SECRET: never an API token or a media key). */
  webhookSecret: string;
}

interface LsProject {
  id: number;
  label_config: string;
}
interface LsTask {
  id: number;
  data: { capture_id?: unknown; instance?: unknown };
}

const FIND_PAGE_SIZE = 100;
/** The task filter travels in the URL, and proxies refuse request lines over 8 KiB. */
const FIND_QUERY_MAX_CHARS = 6000;
/** What one capture id adds to the URL-encoded filter, besides the encoded id itself. */
const FIND_ITEM_CHARS = 150;

/** The distinct capture ids of the tasks, in groups whose filter fits in one URL. */
function captureIdChunks(tasks: readonly LabelTask[]): string[][] {
  const chunks: string[][] = [];
  let chunk: string[] = [];
  let chars = 0;
  for (const id of new Set(tasks.map((t) => t.captureId))) {
    const cost = FIND_ITEM_CHARS + encodeURIComponent(id).length;
    if (chunk.length > 0 && chars + cost > FIND_QUERY_MAX_CHARS) {
      chunks.push(chunk);
      chunk = [];
      chars = 0;
    }
    chunk.push(id);
    chars += cost;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

const obj = (v: unknown): Record<string, unknown> | undefined =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/** A Label Studio object id (a positive integer) as a ref, or undefined. */
const idOf = (v: unknown): string | undefined =>
  typeof v === "number" && Number.isInteger(v) && v > 0 ? String(v) : undefined;

function scoreOf(p: Prediction): number | undefined {
  const scores: Array<number | null> =
    p.kind === "classification"
      ? [p.score]
      : p.kind === "detection"
        ? p.boxes.map((b) => b.score)
        : p.kind === "segmentation"
          ? p.instances.map((i) => i.score)
          : p.kind === "entities"
            ? p.entities.map((e) => e.score)
            : [];
  const known = scores.filter((s): s is number => typeof s === "number");
  return known.length ? known.reduce((a, b) => a + b, 0) / known.length : undefined;
}

export class LabelStudioBackend implements LabelingBackend {
  readonly name = "label_studio";
  readonly source = "label_studio";
  private readonly client: LabelStudioClient;

  constructor(private readonly opts: LabelStudioOptions) {
    this.client = new LabelStudioClient(opts.url.replace(/\/+$/, ""), opts.token);
  }

  async ensureProject(
    model: string,
    task: Task,
    labels: readonly string[],
    existing?: LabelingProject,
  ): Promise<string> {
    let id: number | undefined;
    if (existing && existing.task === task) {
      const found = await this.client
        .request<LsProject>("GET", `/api/projects/${existing.projectRef}`)
        .catch((err: unknown) => {
          if (err instanceof LabelStudioError && err.status === 404) return undefined;
          throw err;
        });
      if (found) {
        id = found.id;
        const merged = [...new Set([...existing.labelSet, ...labels])];
        if (merged.length !== existing.labelSet.length) {
          await this.client.request("PATCH", `/api/projects/${id}`, {
            label_config: labelConfig(task, merged),
          });
        }
      }
    }
    if (id === undefined) {
      const created = await this.client.request<LsProject>("POST", "/api/projects", {
        title: `modeltap: ${model}`.slice(0, 50),
        description: `Captures of model ${model} (${task}) sampled by modeltap, pre-annotated with the model's prediction.`,
        label_config: labelConfig(task, labels),
      });
      id = created.id;
    }
    await this.ensureWebhook(id);
    return String(id);
  }

  private async ensureWebhook(project: number): Promise<void> {
    const hooks = await this.client.request<Array<{ id: number; url: string; project: number | null }>>(
      "GET",
      `/api/webhooks?project=${project}`,
    );
    const body = {
      project,
      url: this.opts.webhookUrl,
      send_payload: true,
      send_for_all_actions: false,
      is_active: true,
      headers: { Authorization: `Bearer ${this.opts.webhookSecret}` },
      actions: [...WEBHOOK_ACTIONS],
    };
    const mine = hooks.find((h) => h.project === project && h.url === this.opts.webhookUrl);
    // Always rewrite it: the secret may have been rotated since the hook was made.
    if (mine) await this.client.request("PATCH", `/api/webhooks/${mine.id}`, body);
    else await this.client.request("POST", "/api/webhooks", body);
  }

  async createTasks(
    projectRef: string,
    tasks: readonly LabelTask[],
    mayExist: boolean,
  ): Promise<Map<string, string>> {
    const refs = mayExist ? await this.findTasks(projectRef, tasks) : new Map<string, string>();
    const todo = tasks.filter((t) => !refs.has(taskKey(t.captureId, t.instance)));
    if (todo.length === 0) return refs;
    const payload = todo.map((t) => {
      const data: Record<string, unknown> = {
        capture_id: t.captureId,
        instance: t.instance,
        model: t.model,
        version: t.version,
      };
      if (t.subject.kind === "image") data.image = t.subject.url;
      else data.text = t.subject.text;
      if (!t.prediction) return { data };
      const subject =
        t.subject.kind === "image"
          ? { kind: "image" as const, width: t.subject.width, height: t.subject.height }
          : t.subject;
      let result;
      try {
        result = toLsResult(t.task, t.prediction, subject);
      } catch (err) {
        // A prediction Label Studio cannot show (e.g. from a user converter) must not hold the
        // capture back: the task goes in without a pre-annotation, and says why.
        if (!(err instanceof LabelingFormatError)) throw err;
        return { data: { ...data, prediction_error: err.message } };
      }
      const score = scoreOf(t.prediction);
      return {
        data,
        predictions: [
          {
            model_version: `${t.model}:${t.version}`,
            ...(score === undefined ? {} : { score }),
            result,
          },
        ],
      };
    });
    const res = await this.client
      .request<{ task_ids?: number[] }>(
        "POST",
        `/api/projects/${projectRef}/import?return_task_ids=true`,
        payload,
      )
      .catch((err: unknown) => {
        if (err instanceof LabelStudioError && err.status === 404) {
          throw new ProjectGoneError(`Label Studio project ${projectRef} does not exist`);
        }
        throw err;
      });
    if (!res.task_ids || res.task_ids.length !== todo.length) {
      throw new LabelStudioError(
        `Label Studio import returned ${res.task_ids?.length ?? "no"} task ids for ${todo.length} tasks`,
        502,
      );
    }
    todo.forEach((t, i) => refs.set(taskKey(t.captureId, t.instance), String(res.task_ids![i])));
    return refs;
  }

  /** Tasks already in the project for these captures (an earlier, crashed attempt made them). */
  private async findTasks(projectRef: string, tasks: readonly LabelTask[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (const ids of captureIdChunks(tasks)) {
      const query = encodeURIComponent(
        JSON.stringify({
          filters: {
            conjunction: "or",
            items: ids.map((id) => ({
              filter: "filter:tasks:data.capture_id",
              operator: "equal",
              type: "String",
              value: id,
            })),
          },
        }),
      );
      // A batched capture has one task per instance, so there is no bound on the count: page on.
      for (let page = 1, seen = 0; ; page++) {
        const res = await this.client.request<{ tasks: LsTask[]; total?: number }>(
          "GET",
          `/api/tasks?project=${projectRef}&page=${page}&page_size=${FIND_PAGE_SIZE}&fields=all&query=${query}`,
        );
        for (const t of res.tasks) {
          if (typeof t.data.capture_id === "string") {
            found.set(taskKey(t.data.capture_id, Number(t.data.instance ?? 0)), String(t.id));
          }
        }
        seen += res.tasks.length;
        // Trust total when given: the server may cap page_size below ours.
        const last =
          res.total === undefined
            ? res.tasks.length < FIND_PAGE_SIZE
            : seen >= res.total || res.tasks.length === 0;
        if (last) break;
      }
    }
    return found;
  }

  async listAnnotations(projectRef: string): Promise<AnnotationSnapshot[]> {
    // The JSON export holds only tasks with annotations unless download_all_tasks is set.
    const tasks = await this.client
      .request<
        Array<{
          id?: unknown;
          data?: { capture_id?: unknown; instance?: unknown };
          annotations?: Array<Record<string, unknown>>;
        }>
      >("GET", `/api/projects/${projectRef}/export?exportType=JSON`)
      .catch((err: unknown) => {
        if (err instanceof LabelStudioError && err.status === 404) {
          throw new ProjectGoneError(`Label Studio project ${projectRef} does not exist`);
        }
        throw err;
      });
    const out: AnnotationSnapshot[] = [];
    for (const t of tasks) {
      const captureId = t.data?.capture_id;
      const instance = t.data?.instance ?? 0;
      if (typeof captureId !== "string" || typeof instance !== "number" || !Number.isInteger(t.id)) continue;
      for (const a of t.annotations ?? []) {
        const at = new Date(typeof a.updated_at === "string" ? a.updated_at : NaN);
        if (!Number.isInteger(a.id) || Number.isNaN(at.getTime())) continue;
        out.push({
          captureId,
          instance,
          taskRef: String(t.id),
          sourceRef: String(a.id),
          labeledAt: at,
          result: a.result,
          cancelled: a.was_cancelled === true,
        });
      }
    }
    return out;
  }

  parseWebhook(body: unknown): LabelingEvent {
    const b = obj(body);
    if (!b || typeof b.action !== "string")
      throw new LabelingPayloadError("body must be a JSON object with an action");
    if (b.action === "ANNOTATIONS_DELETED") {
      const list = b.annotations;
      if (!Array.isArray(list) || list.some((a) => !Number.isInteger(obj(a)?.id))) {
        throw new LabelingPayloadError("ANNOTATIONS_DELETED: annotations must be a list of {id}");
      }
      const projectRef = idOf(obj(b.project)?.id);
      if (projectRef === undefined) throw new LabelingPayloadError("ANNOTATIONS_DELETED: project.id missing");
      return { kind: "delete", sourceRefs: list.map((a) => String(obj(a)!.id)), at: new Date(), projectRef };
    }
    if (b.action !== "ANNOTATION_CREATED" && b.action !== "ANNOTATION_UPDATED") {
      return { kind: "ignored", reason: `action ${b.action} is not handled` };
    }
    const ann = obj(b.annotation);
    const task = obj(b.task);
    const data = obj(task?.data);
    if (!ann || !Number.isInteger(ann.id))
      throw new LabelingPayloadError(`${b.action}: annotation.id missing`);
    if (!data || typeof data.capture_id !== "string" || data.capture_id === "") {
      throw new LabelingPayloadError(`${b.action}: task.data.capture_id missing (not a modeltap task)`);
    }
    // Label Studio sends the task (with its project id) and the project beside the annotation.
    const taskRef = idOf(task?.id) ?? idOf(ann.task);
    const projectRef = idOf(obj(b.project)?.id) ?? idOf(task?.project) ?? idOf(ann.project);
    if (taskRef === undefined) throw new LabelingPayloadError(`${b.action}: task.id missing`);
    if (projectRef === undefined) throw new LabelingPayloadError(`${b.action}: project.id missing`);
    const instance = data.instance === undefined ? 0 : data.instance;
    if (typeof instance !== "number" || !Number.isInteger(instance) || instance < 0) {
      throw new LabelingPayloadError(`${b.action}: task.data.instance must be a non-negative integer`);
    }
    const stamp = typeof ann.updated_at === "string" ? new Date(ann.updated_at) : new Date(NaN);
    if (Number.isNaN(stamp.getTime()))
      throw new LabelingPayloadError(`${b.action}: annotation.updated_at missing`);
    // A skipped task ("was_cancelled") is a labeler saying "no label": it withdraws this annotation.
    if (ann.was_cancelled === true)
      return { kind: "delete", sourceRefs: [String(ann.id)], at: stamp, projectRef };
    return {
      kind: "upsert",
      captureId: data.capture_id,
      instance,
      taskRef,
      projectRef,
      sourceRef: String(ann.id),
      labeledAt: stamp,
      result: ann.result,
    };
  }

  toLabel(
    task: Task,
    result: unknown,
    subject: { kind: "image"; width: number; height: number } | { kind: "text"; text: string },
  ): Prediction {
    try {
      return fromLsResult(task, result, subject);
    } catch (err) {
      if (err instanceof LabelingFormatError) throw new LabelingPayloadError(err.message);
      throw err;
    }
  }
}
