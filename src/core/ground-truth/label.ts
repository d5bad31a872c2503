/**
 * Ground truth: the true label of a capture, posted after the fact by a person or a labeling tool.
 * It is written in the canonical schema (a Prediction whose scores may be null) so that a label
 * and the model's prediction compare field by field. This file checks one label: its shape
 * (parseLabel), its fit to the capture's task (labelFitsTask) and to the route's label set
 * (labelsOutsideSet). The POST /v1/ground-truth body around it is ground-truth-body.ts.
 * Everything here is validation, no I/O.
 *
 * Labels are checked strictly: unknown keys are problems (a typo such as "lable" must not be
 * silently dropped), and every problem is reported at once as "path: what is wrong".
 */
import type { Box, ClassScore, Entity, Prediction, Rle, SegmentInstance, Xyxy } from "../canonical.js";
import { TASKS, type Task } from "../canonical.js";
import { codePoints } from "../text-span.js";

export type GroundTruthLabel = Prediction;

type Kind = Prediction["kind"];
type Of<K extends Kind> = Extract<Prediction, { kind: K }>;
type Obj = Record<string, unknown>;

const LABEL_KINDS: Record<Task, Kind | undefined> = {
  tabular_classification: "classification",
  image_classification: "classification",
  text_classification: "classification",
  tabular_regression: "regression",
  object_detection: "detection",
  instance_segmentation: "segmentation",
  ner: "entities",
  text_generation: "generation",
  unknown: undefined,
};

/** The Prediction kind a task's ground truth must have; undefined: the task takes none. */
export function labelKindFor(task: Task): Kind | undefined {
  return LABEL_KINDS[task];
}

export function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isFinite(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0;
}

/** A key as a problem names it: a caller's key may be any length, a message may not. */
export function keyName(key: string): string {
  return key.length > 40 ? `${key.slice(0, 37)}...` : key;
}

/** The most problems one label or item reports; the rest are counted. */
export const MAX_PROBLEMS = 20;

/** `problems` cut to MAX_PROBLEMS, the last saying how many more there were. */
export function capProblems(problems: string[]): string[] {
  if (problems.length <= MAX_PROBLEMS) return problems;
  return [
    ...problems.slice(0, MAX_PROBLEMS - 1),
    `... and ${problems.length - MAX_PROBLEMS + 1} more problems`,
  ];
}

function knownKeys(o: Obj, known: readonly string[], path: string, problems: string[]): void {
  for (const key of Object.keys(o)) {
    if (!known.includes(key))
      problems.push(`${path}.${keyName(key)}: unknown key (known: ${known.join(", ")})`);
  }
}

function nonEmptyString(v: unknown, path: string, problems: string[]): string {
  if (typeof v === "string" && v.length > 0) return v;
  problems.push(`${path}: must be a non-empty string`);
  return "";
}

/** Absent and null both mean "no score": a person's label has none. */
function score(v: unknown, path: string, problems: string[]): number | null {
  if (v === undefined || v === null) return null;
  if (isFinite(v)) return v;
  problems.push(`${path}: must be a finite number or null`);
  return null;
}

function xyxy(v: unknown, path: string, problems: string[]): Xyxy {
  if (Array.isArray(v) && v.length === 4 && v.every(isFinite)) {
    const [x1, y1, x2, y2] = v as Xyxy;
    if (x1 <= x2 && y1 <= y2) return [x1, y1, x2, y2];
  }
  problems.push(`${path}: must be 4 finite numbers with x1<=x2, y1<=y2`);
  return [0, 0, 0, 0];
}

/** Runs `each` on every element of a list of objects; anything else is a problem. */
function listOf<T>(
  v: unknown,
  path: string,
  what: string,
  problems: string[],
  each: (o: Obj, path: string) => T,
): T[] {
  if (!Array.isArray(v)) {
    problems.push(`${path}: must be a list of ${what}`);
    return [];
  }
  const out: T[] = [];
  v.forEach((item, i) => {
    if (isObject(item)) out.push(each(item, `${path}[${i}]`));
    else problems.push(`${path}[${i}]: must be an object ${what}`);
  });
  return out;
}

function box(o: Obj, path: string, problems: string[], known: readonly string[]): Box {
  knownKeys(o, known, path, problems);
  return {
    label: nonEmptyString(o.label, `${path}.label`, problems),
    score: score(o.score, `${path}.score`, problems),
    xyxy: xyxy(o.xyxy, `${path}.xyxy`, problems),
  };
}

function polygons(v: unknown, path: string, problems: string[]): number[][] {
  if (!Array.isArray(v)) {
    problems.push(`${path}: must be a list of polygons, each a flat [x1, y1, x2, y2, ...] list`);
    return [];
  }
  return v.map((p: unknown, i) => {
    if (Array.isArray(p) && p.length >= 6 && p.length % 2 === 0 && p.every(isFinite)) return [...p];
    problems.push(`${path}[${i}]: must be an even number (at least 6) of finite numbers`);
    return [];
  });
}

function rle(v: unknown, path: string, problems: string[]): Rle {
  const out: Rle = { size: [0, 0], counts: [] };
  if (!isObject(v)) {
    problems.push(`${path}: must be an object {size: [h, w], counts}`);
    return out;
  }
  knownKeys(v, ["size", "counts"], path, problems);
  const size = v.size;
  const sizeOk = Array.isArray(size) && size.length === 2 && size.every((n) => isCount(n) && n > 0);
  if (sizeOk) out.size = [size[0] as number, size[1] as number];
  else problems.push(`${path}.size: must be [h, w], two positive integers`);
  if (!Array.isArray(v.counts) || !v.counts.every(isCount)) {
    problems.push(`${path}.counts: must be a list of non-negative integers`);
    return out;
  }
  out.counts = [...(v.counts as number[])];
  const [h, w] = out.size;
  const sum = out.counts.reduce((a, b) => a + b, 0);
  if (sizeOk && sum !== h * w) {
    problems.push(`${path}.counts: must sum to h*w = ${h * w}, got ${sum}`);
  }
  return out;
}

function entity(o: Obj, path: string, problems: string[]): Entity {
  knownKeys(o, ["start", "end", "label", "score", "text"], path, problems);
  const start = isCount(o.start) ? o.start : undefined;
  const end = isCount(o.end) ? o.end : undefined;
  if (start === undefined) problems.push(`${path}.start: must be a non-negative integer`);
  if (end === undefined) problems.push(`${path}.end: must be a non-negative integer`);
  if (start !== undefined && end !== undefined && end <= start) {
    problems.push(`${path}.end: must be greater than start (${start}), got ${end}`);
  }
  if (typeof o.text !== "string") problems.push(`${path}.text: must be a string`);
  return {
    start: start ?? 0,
    end: end ?? 0,
    label: nonEmptyString(o.label, `${path}.label`, problems),
    score: score(o.score, `${path}.score`, problems),
    text: typeof o.text === "string" ? o.text : "",
  };
}

function nullableCount(v: unknown, path: string, problems: string[]): number | null {
  if (v === undefined || v === null) return null;
  if (isCount(v)) return v;
  problems.push(`${path}: must be a non-negative integer or null`);
  return null;
}

function nullableMs(v: unknown, path: string, problems: string[]): number | null {
  if (v === undefined || v === null) return null;
  if (isFinite(v) && v >= 0) return v;
  problems.push(`${path}: must be a non-negative number or null`);
  return null;
}

const USAGE_KEYS = ["prompt_tokens", "completion_tokens", "total_tokens"] as const;

function usage(v: unknown, path: string, problems: string[]): Of<"generation">["usage"] {
  const out = { prompt_tokens: null, completion_tokens: null, total_tokens: null };
  if (v === undefined || v === null) return out;
  if (!isObject(v)) {
    problems.push(`${path}: must be an object {${USAGE_KEYS.join(", ")}}`);
    return out;
  }
  knownKeys(v, USAGE_KEYS, path, problems);
  return {
    prompt_tokens: nullableCount(v.prompt_tokens, `${path}.prompt_tokens`, problems),
    completion_tokens: nullableCount(v.completion_tokens, `${path}.completion_tokens`, problems),
    total_tokens: nullableCount(v.total_tokens, `${path}.total_tokens`, problems),
  };
}

type KindParser = (o: Obj, path: string, problems: string[]) => Prediction;

/** One parser per kind; `o.kind` is already known to be the table key. */
const KIND_PARSERS: Record<Kind, KindParser> = {
  classification(o, path, problems) {
    knownKeys(o, ["kind", "label", "score", "classes"], path, problems);
    const out: Of<"classification"> = {
      kind: "classification",
      label: nonEmptyString(o.label, `${path}.label`, problems),
      score: score(o.score, `${path}.score`, problems),
    };
    if (o.classes !== undefined) {
      out.classes = listOf(o.classes, `${path}.classes`, "{label, score}", problems, (c, p): ClassScore => {
        knownKeys(c, ["label", "score"], p, problems);
        const label = nonEmptyString(c.label, `${p}.label`, problems);
        if (!isFinite(c.score)) problems.push(`${p}.score: must be a finite number`);
        return { label, score: isFinite(c.score) ? c.score : 0 };
      });
    }
    return out;
  },
  regression(o, path, problems) {
    knownKeys(o, ["kind", "value"], path, problems);
    if (!isFinite(o.value)) problems.push(`${path}.value: must be a finite number`);
    return { kind: "regression", value: isFinite(o.value) ? o.value : 0 };
  },
  detection(o, path, problems) {
    knownKeys(o, ["kind", "boxes"], path, problems);
    const boxes = listOf(o.boxes, `${path}.boxes`, "{label, score, xyxy}", problems, (b, p) =>
      box(b, p, problems, ["label", "score", "xyxy"]),
    );
    return { kind: "detection", boxes };
  },
  segmentation(o, path, problems) {
    knownKeys(o, ["kind", "instances"], path, problems);
    const known = ["label", "score", "xyxy", "polygons", "rle"];
    const what = "{label, score, xyxy, polygons, rle}";
    const instances = listOf(o.instances, `${path}.instances`, what, problems, (s, p) => {
      const out: SegmentInstance = box(s, p, problems, known);
      if (s.polygons !== undefined) out.polygons = polygons(s.polygons, `${p}.polygons`, problems);
      if (s.rle !== undefined) out.rle = rle(s.rle, `${p}.rle`, problems);
      return out;
    });
    return { kind: "segmentation", instances };
  },
  entities(o, path, problems) {
    knownKeys(o, ["kind", "entities"], path, problems);
    const what = "{start, end, label, score, text}";
    const entities = listOf(o.entities, `${path}.entities`, what, problems, (e, p) => entity(e, p, problems));
    return { kind: "entities", entities };
  },
  generation(o, path, problems) {
    const known = ["kind", "message", "finish_reason", "usage", "streamed", "ttft_ms", "total_ms"];
    knownKeys(o, known, path, problems);
    const message = { role: "", content: "" };
    if (isObject(o.message)) {
      knownKeys(o.message, ["role", "content"], `${path}.message`, problems);
      message.role = nonEmptyString(o.message.role, `${path}.message.role`, problems);
      if (typeof o.message.content === "string") message.content = o.message.content;
      else problems.push(`${path}.message.content: must be a string`);
    } else problems.push(`${path}.message: must be an object {role, content}`);
    const finish = o.finish_reason;
    if (finish !== undefined && finish !== null && typeof finish !== "string") {
      problems.push(`${path}.finish_reason: must be a string or null`);
    }
    if (o.streamed !== undefined && typeof o.streamed !== "boolean") {
      problems.push(`${path}.streamed: must be a boolean`);
    }
    return {
      kind: "generation",
      message,
      finish_reason: typeof finish === "string" ? finish : null,
      usage: usage(o.usage, `${path}.usage`, problems),
      streamed: o.streamed === true,
      ttft_ms: nullableMs(o.ttft_ms, `${path}.ttft_ms`, problems),
      total_ms: nullableMs(o.total_ms, `${path}.total_ms`, problems),
    };
  },
};

const KINDS = Object.keys(KIND_PARSERS) as Kind[];

export type LabelResult = { ok: true; label: Prediction } | { ok: false; problems: string[] };

/**
 * Checks that `raw` is a well-formed canonical label of any kind and returns a fresh, typed copy
 * (missing scores become null, absent generation fields get their empty values).
 */
export function parseLabel(raw: unknown, path = "label"): LabelResult {
  if (!isObject(raw)) {
    return { ok: false, problems: [`${path}: must be an object with a kind (one of ${KINDS.join(", ")})`] };
  }
  const kind = raw.kind;
  if (typeof kind !== "string" || !Object.hasOwn(KIND_PARSERS, kind)) {
    const got = kind === undefined ? "missing" : `got ${JSON.stringify(kind)}`;
    return { ok: false, problems: [`${path}.kind: must be one of ${KINDS.join(", ")}, ${got}`] };
  }
  const problems: string[] = [];
  const label = KIND_PARSERS[kind as Kind](raw, path, problems);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, label };
}

/** Half a pixel either way: labeling tools round, and clipping to the exact edge is not required. */
const EDGE_TOLERANCE_PX = 0.5;

function checkInside(
  boxes: readonly Box[],
  listPath: string,
  image: { width: number; height: number },
  problems: string[],
): void {
  const { width: w, height: h } = image;
  const inside = (x: number, y: number) =>
    x >= -EDGE_TOLERANCE_PX &&
    y >= -EDGE_TOLERANCE_PX &&
    x <= w + EDGE_TOLERANCE_PX &&
    y <= h + EDGE_TOLERANCE_PX;
  boxes.forEach((b, i) => {
    const path = `${listPath}[${i}]`;
    const [x1, y1, x2, y2] = b.xyxy;
    if (!inside(x1, y1) || !inside(x2, y2)) {
      problems.push(`${path}.xyxy: [${b.xyxy.join(", ")}] is outside the ${w}x${h} image`);
    }
    const s = b as SegmentInstance;
    s.polygons?.forEach((poly, j) => {
      for (let k = 0; k + 1 < poly.length; k += 2) {
        if (inside(poly[k]!, poly[k + 1]!)) continue;
        problems.push(
          `${path}.polygons[${j}]: point (${poly[k]}, ${poly[k + 1]}) is outside the ${w}x${h} image`,
        );
        break;
      }
    });
    if (s.rle && (s.rle.size[0] !== h || s.rle.size[1] !== w)) {
      problems.push(
        `${path}.rle.size: must be the image size [${h}, ${w}] (h, w), got [${s.rle.size.join(", ")}]`,
      );
    }
  });
}

/**
 * Checks a parsed label against the capture it labels. `context.text` must be the capture's full
 * input text (leave it out when only a truncated copy is at hand); `context.image` the original
 * image size. Problems never quote the capture's text: it is production traffic.
 */
export function labelFitsTask(
  label: Prediction,
  task: string,
  context: { text?: string; image?: { width: number; height: number } },
  path = "label",
): string[] {
  if (!(TASKS as readonly string[]).includes(task)) {
    return [`task: unknown task ${JSON.stringify(task)} (known: ${TASKS.join(", ")})`];
  }
  const kind = labelKindFor(task as Task);
  if (kind === undefined) return [`task: captures of task ${task} take no ground truth`];
  if (label.kind !== kind) {
    return [
      `${path}.kind: task ${task} takes ${JSON.stringify(kind)} labels, got ${JSON.stringify(label.kind)}`,
    ];
  }
  const problems: string[] = [];
  const { text, image } = context;
  if (label.kind === "entities" && text !== undefined) {
    label.entities.forEach((e, i) => {
      const p = `${path}.entities[${i}]`;
      if (e.end > codePoints(text).length) {
        problems.push(
          `${p}.end: ${e.end} is past the end of the ${codePoints(text).length}-character capture text`,
        );
      } else if (codePoints(text).slice(e.start, e.end) !== e.text) {
        problems.push(`${p}.text: does not match the capture text at [${e.start}, ${e.end})`);
      }
    });
  }
  if (label.kind === "detection" && image) checkInside(label.boxes, `${path}.boxes`, image, problems);
  if (label.kind === "segmentation" && image) {
    checkInside(label.instances, `${path}.instances`, image, problems);
  }
  return problems;
}

/** The label names a label uses that are not in the route's label set (none when the set is empty). */
export function labelsOutsideSet(label: Prediction, labelSet: readonly string[]): string[] {
  if (labelSet.length === 0) return [];
  const names =
    label.kind === "classification"
      ? [label.label]
      : label.kind === "detection"
        ? label.boxes.map((b) => b.label)
        : label.kind === "segmentation"
          ? label.instances.map((i) => i.label)
          : label.kind === "entities"
            ? label.entities.map((e) => e.label)
            : [];
  return [...new Set(names.filter((n) => !labelSet.includes(n)))];
}
