/**
 * Object detection across containers × box formats × scalers, end to end: the demo server's
 * matrix detector (tools/demo/detector-matrix.ts) answers one fixed scene in the container and box
 * format each case asks for, in its model-input space (letterboxed or stretched); the requests go
 * through a real Envoy of this test's own (one route per case, each with its `modeltap` metadata)
 * to the stack's collector, and the stored boxes must be the scene's in original-image pixels,
 * within 1 px, with their labels and scores.
 */
import { observabilityEnvoyConfig } from "../support/envoy-config.js";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { matrixSceneBoxes, type MatrixContainer } from "../../tools/demo/detector-matrix.js";
import { pngImage } from "../../tools/demo/payloads.js";
import { paths } from "../../tools/stack/services.js";
import {
  CONVENTION_FORMAT,
  CONVENTION_INPUT,
  MATRIX_LABELS as LABELS,
  casePath,
  caseQuery,
  request,
  routeMetadata,
  type Case,
} from "../support/detection-matrix.js";
import { pool, send, type Sent } from "../support/http.js";
import { config, db, freePort, until, waitForRows } from "./helpers.js";

/** Sizes that make letterbox padding non-trivial: wide (pads top and bottom) and tall (left, right). */
const IMAGES: ReadonlyArray<readonly [number, number]> = [
  [1280, 720],
  [500, 900],
];

function conventionCase(
  container: MatrixContainer,
  converter: "voc" | "coco" | "yolo",
  scaler: "letterbox" | "stretch",
): Case {
  // Objects and rows in each convention's own dialect: COCO's category_id, YOLO's class-first rows.
  const layout =
    container === "objects"
      ? { voc: "label", coco: "category_id", yolo: "class" }[converter]
      : container === "rows"
        ? converter === "yolo"
          ? "class_first"
          : "box_first"
        : undefined;
  return {
    name: `${container}-${converter}-${scaler}`,
    container,
    converter,
    scaler,
    input: CONVENTION_INPUT[converter],
    format: CONVENTION_FORMAT[converter]!,
    layout,
  };
}

const lb = { scaler: "letterbox", input: "640x640" } as const;

const CASES: Case[] = [
  // The grid: OIP tensors (JSON and binary), JSON lists of objects, rows × voc, coco, yolo × scalers.
  ...(["oip_json", "oip_binary", "objects", "rows"] as const).flatMap((container) =>
    (["voc", "coco", "yolo"] as const).flatMap((converter) =>
      (["letterbox", "stretch"] as const).map((scaler) => conventionCase(container, converter, scaler)),
    ),
  ),
  // Every other container, letterboxed.
  { name: "columns-voc-letterbox", container: "columns", converter: "voc", ...lb, format: "xyxy" },
  {
    name: "columns-voc-letterbox-named",
    container: "columns",
    converter: "voc",
    ...lb,
    format: "xyxy",
    names: ["det_boxes", "det_scores", "det_classes"],
    route: { output_names: { boxes: "det_boxes", scores: "det_scores", labels: "det_classes" } },
  },
  { name: "kserve_v1-voc-letterbox", container: "kserve_v1", converter: "voc", ...lb, format: "xyxy" },
  { name: "tf_od-tf_od-letterbox", container: "tf_od", converter: "tf_od", ...lb, format: "yxyx_normalized" },
  {
    name: "torchvision-torchvision-letterbox",
    container: "torchvision",
    converter: "torchvision",
    ...lb,
    format: "xyxy",
  },
  {
    name: "torchvision-torchvision-letterbox-dict",
    container: "torchvision",
    converter: "torchvision",
    ...lb,
    format: "xyxy",
    layout: "dict",
  },
  // Other conventions in other containers.
  {
    name: "objects-hf_detection-letterbox",
    container: "objects",
    converter: "hf_detection",
    ...lb,
    format: "xyxy",
    layout: "dict",
  },
  {
    name: "oip_json-tf_od-letterbox",
    container: "oip_json",
    converter: "tf_od",
    ...lb,
    format: "yxyx_normalized",
    // A TF OD model behind Triton keeps its signature's output names.
    names: ["detection_boxes", "detection_scores", "detection_classes"],
  },
  // No input size: normalised coordinates are fractions of the original image.
  {
    name: "rows-yolo-none",
    container: "rows",
    converter: "yolo",
    format: "cxcywh_normalized",
    layout: "class_first",
  },
  // The route's box_format overrides the convention's.
  {
    name: "rows-voc-letterbox-xywh_normalized",
    container: "rows",
    converter: "voc",
    ...lb,
    format: "xywh_normalized",
    route: { box_format: "xywh_normalized" },
  },
  {
    name: "oip_binary-yolo-stretch-xyxy",
    container: "oip_binary",
    converter: "yolo",
    scaler: "stretch",
    input: "640x480",
    format: "xyxy",
    route: { box_format: "xyxy" },
  },
  {
    name: "columns-coco-letterbox-yxyx_normalized",
    container: "columns",
    converter: "coco",
    ...lb,
    format: "yxyx_normalized",
    route: { box_format: "yxyx_normalized" },
  },
  // Today's oip_tensors converter (box_format under output_names), which must keep working.
  {
    name: "oip_json-oip_tensors-letterbox",
    container: "oip_json",
    converter: "oip_tensors",
    ...lb,
    format: "xyxy",
  },
  {
    name: "oip_binary-oip_tensors-letterbox",
    container: "oip_binary",
    converter: "oip_tensors",
    ...lb,
    format: "xyxy",
  },
  {
    name: "oip_json-oip_tensors-stretch-cxcywh",
    container: "oip_json",
    converter: "oip_tensors",
    scaler: "stretch",
    input: "800x600",
    format: "cxcywh",
    route: { output_names: { box_format: "cxcywh" } },
  },
  {
    name: "oip_binary-oip_tensors-letterbox-yxyx_normalized",
    container: "oip_binary",
    converter: "oip_tensors",
    scaler: "letterbox",
    input: "640x480",
    format: "yxyx_normalized",
    names: ["detection_boxes", "detection_scores", "detection_classes"],
    route: {
      output_names: {
        boxes: "detection_boxes",
        scores: "detection_scores",
        labels: "detection_classes",
        box_format: "yxyx_normalized",
      },
    },
  },
  {
    name: "columns-oip_tensors-letterbox",
    container: "columns",
    converter: "oip_tensors",
    ...lb,
    format: "xyxy",
  },
];

const pg = db();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "modeltap-matrix-"));
const ports = { listener: 0, admin: 0 };
let envoy: ChildProcess | undefined;

function envoyConfig(): string {
  return observabilityEnvoyConfig({
    name: "matrix",
    adminPort: ports.admin,
    listenerPort: ports.listener,
    collectorPort: config.ports.collector,
    routes: CASES.map((c) => ({
      name: c.name,
      path: casePath(c),
      cluster: "demo",
      modeltap: routeMetadata(c),
    })),
    upstreams: { demo: config.ports.demo },
  });
}

interface Box {
  label: string;
  score: number | null;
  xyxy: number[];
}

interface StoredRow {
  id: string;
  parse_error: string;
  analysis: {
    instances: Array<{ input: { image?: unknown }; prediction: { boxes?: Box[] } | null }>;
  } | null;
}

/** Per case, the exchange sent for each image. */
const sent = new Map<string, Sent[]>();
const stored = new Map<string, StoredRow>();

beforeAll(async () => {
  ports.listener = await freePort();
  ports.admin = await freePort();
  fs.writeFileSync(path.join(dir, "envoy.yaml"), envoyConfig());
  envoy = spawn(
    path.join(paths(config).venvBin, "envoy"),
    ["-c", path.join(dir, "envoy.yaml"), "--disable-hot-restart", "-l", "error"],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  await until("Envoy", async () => (await fetch(`http://127.0.0.1:${ports.admin}/ready`)).ok);
  const images = IMAGES.map(([w, h]) => pngImage(w, h));
  const jobs = CASES.flatMap((c) => images.map((image) => ({ c, image })));
  const results = await pool(jobs.length, 8, (i) => {
    const { c, image } = jobs[i]!;
    const r = request(c, image);
    return send(`http://127.0.0.1:${ports.listener}${casePath(c)}?${caseQuery(c)}`, r.body, {
      contentType: r.contentType,
      headers: r.headers,
    });
  });
  results.forEach((s, i) => {
    const name = jobs[i]!.c.name;
    sent.set(name, [...(sent.get(name) ?? []), s]);
  });
  // Every case's rows at once; a route the collector refuses (invalid metadata) never gets one.
  const ids = results.map((s) => s.id);
  await waitForRows(pg, ids, ids.length, 20_000);
  const res = await pg.query<StoredRow>(
    "SELECT request_id AS id, parse_error, analysis FROM captures WHERE request_id = ANY($1)",
    [ids],
  );
  for (const row of res.rows) stored.set(row.id, row);
});

afterAll(async () => {
  envoy?.kill("SIGTERM");
  await pg.end();
  fs.rmSync(dir, { recursive: true, force: true });
});

const TOLERANCE_PX = 1;

/** What is wrong with a case's capture of one image, or undefined when it holds the scene. */
function problem(s: Sent, [width, height]: readonly [number, number]): string | undefined {
  const at = `${width}x${height}`;
  if (s.status !== 200) return `${at}: the demo answered ${s.status}: ${s.response.toString().slice(0, 200)}`;
  const row = stored.get(s.id);
  if (!row) return `${at}: no capture (is the route's modeltap metadata valid?)`;
  if (row.parse_error !== "") return `${at}: parse_error: ${row.parse_error}`;
  const inst = row.analysis?.instances[0];
  const image = inst?.input.image as { width?: number; height?: number } | undefined;
  if (image?.width !== width || image.height !== height) {
    return `${at}: stored image size ${JSON.stringify(image)}`;
  }
  const boxes = [...(inst?.prediction?.boxes ?? [])].sort(
    (a, b) => LABELS.indexOf(a.label) - LABELS.indexOf(b.label),
  );
  const want = matrixSceneBoxes(width, height);
  if (boxes.length !== want.length)
    return `${at}: ${boxes.length} boxes, expected ${want.length}: ${JSON.stringify(boxes)}`;
  for (const [i, w] of want.entries()) {
    const got = boxes[i]!;
    if (got.label !== LABELS[w.label])
      return `${at}: box ${i} label ${got.label}, expected ${LABELS[w.label]}`;
    if (got.score === null || Math.abs(got.score - w.score) > 1e-5) {
      return `${at}: box ${i} (${got.label}) score ${got.score}, expected ${w.score}`;
    }
    const off = got.xyxy.map((v, k) => Math.abs(v - w.xyxy[k]!));
    if (got.xyxy.length !== 4 || off.some((d) => !(d <= TOLERANCE_PX))) {
      const expected = w.xyxy.map((v) => +v.toFixed(2));
      return `${at}: box ${i} (${got.label}) xyxy [${got.xyxy.join(", ")}], expected [${expected.join(", ")}] within ${TOLERANCE_PX} px`;
    }
  }
  return undefined;
}

describe("detections come back in original-image pixels", () => {
  for (const c of CASES) {
    const route = c.route ? ` ${JSON.stringify(c.route)}` : "";
    it(`${c.container} × ${c.converter} (${c.format}) × ${c.scaler ?? "no scaler"}${route} [${c.name}]`, () => {
      const exchanges = sent.get(c.name) ?? [];
      expect(exchanges).toHaveLength(IMAGES.length);
      const problems = exchanges.map((s, i) => problem(s, IMAGES[i]!)).filter((p) => p !== undefined);
      expect(problems).toEqual([]);
    });
  }
});
