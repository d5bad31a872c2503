/**
 * A configurable demo detector: one fixed scene of three objects, answered in whichever container
 * (how detections travel) and box format (how one box is written) the request asks for, so the
 * detection-matrix end-to-end test can run every (container × format × resize) cell through the
 * real Envoy and collector.
 *
 * The scene is defined in original-image pixels (fractions of the image's width and height). The
 * model's input resize (letterbox or stretch) is written here on its own, independently of
 * src/plugins/scalers, so a test comparing the stored boxes with the scene is not circular.
 *
 * Endpoints (the container is the first word of the model name; anything after a dash is free):
 *   POST /predictions/matrix-<objects|rows|columns|torchvision>[-…]   a raw image in (TorchServe)
 *   POST /v2/models/matrix-<oip_json|oip_binary>[-…]/infer           OIP, the image a BYTES tensor
 *   POST /v1/models/matrix-<kserve_v1|tf_od>[-…]:predict             {instances: [{b64}]}
 * Query:
 *   format  xyxy|xywh|cxcywh|yxyx, optionally `_normalized` (by the model input, else the image)
 *           or `_normalized_original` (by the original image); default xyxy
 *   input   the model's input size, WxH; absent: the model sees the original image unresized
 *   resize  letterbox (default) | stretch
 *   layout  objects and kserve_v1: label (default, {bbox, label, score}), class ({bbox, class,
 *           confidence}), category_id ({bbox, category_id, score}), dict ({box: {xmin, ymin, xmax,
 *           ymax}} for xyxy, {box: {x, y, width, height}} for xywh, with label and score);
 *           rows: box_first (default, [a, b, c, d, score, class]) | class_first ([class, a, b, c,
 *           d, score]); torchvision: list (default, [{boxes, labels, scores}]) | dict
 *   names   columns and OIP: the names of the boxes, scores and labels outputs, comma-separated
 */
import { imageSize } from "image-size";
import type { DemoReply } from "./models.js";

export const MATRIX_CONTAINERS = [
  "objects",
  "rows",
  "columns",
  "oip_json",
  "oip_binary",
  "kserve_v1",
  "tf_od",
  "torchvision",
] as const;
export type MatrixContainer = (typeof MATRIX_CONTAINERS)[number];

type Quad = [number, number, number, number];

/** The scene: corner boxes as fractions of the original image's width and height. */
export const MATRIX_SCENE: ReadonlyArray<{ box: Quad; label: number; score: number }> = [
  { box: [0.1, 0.15, 0.4, 0.6], label: 0, score: 0.9 },
  { box: [0.55, 0.2, 0.9, 0.5], label: 1, score: 0.8 },
  { box: [0.3, 0.65, 0.7, 0.95], label: 2, score: 0.7 },
];

/** The scene's boxes in original-image pixels, [x1, y1, x2, y2]. */
export function matrixSceneBoxes(
  width: number,
  height: number,
): Array<{ xyxy: Quad; label: number; score: number }> {
  return MATRIX_SCENE.map(({ box: [a, b, c, d], label, score }) => ({
    xyxy: [a * width, b * height, c * width, d * height],
    label,
    score,
  }));
}

interface Size {
  width: number;
  height: number;
}

interface Options {
  container: MatrixContainer;
  /** xyxy | xywh | cxcywh | yxyx */
  format: string;
  normalized: boolean;
  /** Fractions of the original image, even when the model saw a resized one. */
  ofOriginal: boolean;
  input: Size | undefined;
  resize: "letterbox" | "stretch";
  layout: string | undefined;
  names: [string, string, string];
}

class BadRequest extends Error {}

const FORMATS = ["xyxy", "xywh", "cxcywh", "yxyx"];

function options(container: MatrixContainer, query: URLSearchParams): Options {
  const raw = query.get("format") ?? "xyxy";
  const ofOriginal = raw.endsWith("_normalized_original");
  const normalized = ofOriginal || raw.endsWith("_normalized");
  const format = raw.replace(/_normalized(_original)?$/, "");
  if (!FORMATS.includes(format)) throw new BadRequest(`unknown format ${JSON.stringify(raw)}`);
  const inputText = query.get("input");
  let input: Size | undefined;
  if (inputText !== null) {
    const m = /^(\d+)x(\d+)$/.exec(inputText);
    if (!m) throw new BadRequest(`input must be WxH, got ${JSON.stringify(inputText)}`);
    input = { width: Number(m[1]), height: Number(m[2]) };
  }
  const resize = query.get("resize") ?? "letterbox";
  if (resize !== "letterbox" && resize !== "stretch") {
    throw new BadRequest(`resize must be letterbox or stretch, got ${JSON.stringify(resize)}`);
  }
  const names = (query.get("names") ?? "boxes,scores,labels").split(",");
  if (names.length !== 3) throw new BadRequest("names: expected three comma-separated names");
  return {
    container,
    format,
    normalized,
    ofOriginal,
    input,
    resize,
    layout: query.get("layout") ?? undefined,
    names: names as [string, string, string],
  };
}

/** One original-image point in the model's input space. */
function toInput(
  x: number,
  y: number,
  image: Size,
  input: Size,
  resize: Options["resize"],
): [number, number] {
  if (resize === "stretch") return [(x * input.width) / image.width, (y * input.height) / image.height];
  // Letterbox: scale to fit inside the input keeping the aspect ratio, pad equally on both sides.
  const scale = Math.min(input.width / image.width, input.height / image.height);
  const padX = (input.width - image.width * scale) / 2;
  const padY = (input.height - image.height * scale) / 2;
  return [x * scale + padX, y * scale + padY];
}

/** A corner box in model-input pixels written in the asked format. */
function encodeBox([x1, y1, x2, y2]: Quad, o: Options, space: Size): Quad {
  const [nx, ny] = o.normalized ? [space.width, space.height] : [1, 1];
  const [a, b, c, d] = [x1 / nx, y1 / ny, x2 / nx, y2 / ny];
  switch (o.format) {
    case "xywh":
      return [a, b, c - a, d - b];
    case "cxcywh":
      return [(a + c) / 2, (b + d) / 2, c - a, d - b];
    case "yxyx":
      return [b, a, d, c];
    default:
      return [a, b, c, d];
  }
}

interface Detection {
  coords: Quad;
  label: number;
  score: number;
}

/** The scene as the model saw it: boxes in the asked format, in its input space. */
function detect(image: Size, o: Options): Detection[] {
  // Boxes normalised to the original image are the scene's own fractions, whatever the resize.
  const input = o.ofOriginal ? undefined : o.input;
  const space = input ?? image;
  const round = (v: number) => +v.toFixed(o.normalized ? 6 : 3);
  return matrixSceneBoxes(image.width, image.height).map(({ xyxy: [x1, y1, x2, y2], label, score }) => {
    const [a, b] = input ? toInput(x1, y1, image, input, o.resize) : [x1, y1];
    const [c, d] = input ? toInput(x2, y2, image, input, o.resize) : [x2, y2];
    return { coords: encodeBox([a, b, c, d], o, space).map(round) as Quad, label, score };
  });
}

function objectList(dets: Detection[], o: Options): unknown[] {
  return dets.map(({ coords, label, score }) => {
    switch (o.layout ?? "label") {
      case "label":
        return { bbox: coords, label, score };
      case "class":
        return { bbox: coords, class: label, confidence: score };
      case "category_id":
        return { bbox: coords, category_id: label, score };
      case "dict": {
        const [a, b, c, d] = coords;
        if (o.format === "xyxy") return { box: { xmin: a, ymin: b, xmax: c, ymax: d }, label, score };
        if (o.format === "xywh") return { box: { x: a, y: b, width: c, height: d }, label, score };
        throw new BadRequest("layout dict: only for format xyxy or xywh");
      }
      default:
        throw new BadRequest(`layout ${JSON.stringify(o.layout)}: not one for a list of objects`);
    }
  });
}

function rows(dets: Detection[], o: Options): unknown[] {
  const layout = o.layout ?? "box_first";
  if (layout !== "box_first" && layout !== "class_first") {
    throw new BadRequest(`layout ${JSON.stringify(layout)}: rows are box_first or class_first`);
  }
  return dets.map(({ coords, label, score }) =>
    layout === "box_first" ? [...coords, score, label] : [label, ...coords, score],
  );
}

function columns(dets: Detection[], o: Options): Record<string, unknown> {
  const [boxes, scores, labels] = o.names;
  return {
    [boxes]: dets.map((d) => d.coords),
    [scores]: dets.map((d) => d.score),
    [labels]: dets.map((d) => d.label),
  };
}

interface OutTensor {
  name: string;
  datatype: "FP32" | "INT64";
  shape: number[];
  data: number[];
}

function oipOutputs(dets: Detection[], o: Options): OutTensor[] {
  const [boxes, scores, labels] = o.names;
  const n = dets.length;
  return [
    { name: boxes, datatype: "FP32", shape: [1, n, 4], data: dets.flatMap((d) => d.coords) },
    { name: scores, datatype: "FP32", shape: [1, n], data: dets.map((d) => d.score) },
    { name: labels, datatype: "INT64", shape: [1, n], data: dets.map((d) => d.label) },
  ];
}

/** Raw little-endian bytes of a tensor, as the binary tensor extension carries them. */
function tensorBytes(t: OutTensor): Buffer {
  const size = t.datatype === "FP32" ? 4 : 8;
  const out = Buffer.alloc(t.data.length * size);
  t.data.forEach((v, i) => {
    if (t.datatype === "FP32") out.writeFloatLE(v, i * size);
    else out.writeBigInt64LE(BigInt(v), i * size);
  });
  return out;
}

/** The binary tensor extension: a JSON header, then every output's raw bytes in order. */
function binaryReply(modelName: string, outputs: OutTensor[]): DemoReply {
  const data = outputs.map(tensorBytes);
  const header = Buffer.from(
    JSON.stringify({
      model_name: modelName,
      outputs: outputs.map((t, i) => ({
        name: t.name,
        datatype: t.datatype,
        shape: t.shape,
        parameters: { binary_data_size: data[i]!.length },
      })),
    }),
  );
  return {
    status: 200,
    contentType: "application/octet-stream",
    headers: { "inference-header-content-length": String(header.length) },
    body: Buffer.concat([header, ...data]),
  };
}

/** TF Object Detection API signature outputs, padded past num_detections like the real ones. */
function tfOd(dets: Detection[]): Record<string, unknown> {
  return {
    detection_boxes: [...dets.map((d) => d.coords), [0, 0, 0, 0]],
    detection_scores: [...dets.map((d) => d.score), 0],
    detection_classes: [...dets.map((d) => d.label), 0],
    num_detections: dets.length,
  };
}

function torchvision(dets: Detection[], o: Options): unknown {
  const layout = o.layout ?? "list";
  if (layout !== "list" && layout !== "dict") {
    throw new BadRequest(`layout ${JSON.stringify(layout)}: torchvision is list or dict`);
  }
  const one = {
    boxes: dets.map((d) => d.coords),
    labels: dets.map((d) => d.label),
    scores: dets.map((d) => d.score),
  };
  return layout === "list" ? [one] : one;
}

/** The first BYTES element of an OIP binary request: 4-byte little-endian length, then the bytes. */
function binaryRequestImage(raw: Buffer, headerLength: number): Buffer {
  const header = JSON.parse(raw.subarray(0, headerLength).toString("utf8")) as {
    inputs?: Array<{ parameters?: { binary_data_size?: number } }>;
  };
  const first = header.inputs?.[0];
  if (first?.parameters?.binary_data_size === undefined)
    throw new BadRequest("the first input is not binary");
  const n = raw.readUInt32LE(headerLength);
  return raw.subarray(headerLength + 4, headerLength + 4 + n);
}

function requestImage(container: MatrixContainer, raw: Buffer, headers: Headers): Buffer {
  if (container === "oip_json" || container === "oip_binary") {
    const length = headers["inference-header-content-length"];
    if (length !== undefined) return binaryRequestImage(raw, Number(length));
    const body = JSON.parse(raw.toString("utf8")) as { inputs?: Array<{ data?: unknown[] }> };
    return Buffer.from(String(body.inputs?.[0]?.data?.flat(Infinity)[0] ?? ""), "base64");
  }
  if (container === "kserve_v1" || container === "tf_od") {
    const body = JSON.parse(raw.toString("utf8")) as { instances?: Array<{ b64?: string }> };
    return Buffer.from(String(body.instances?.[0]?.b64 ?? ""), "base64");
  }
  return raw;
}

type Headers = Record<string, string | string[] | undefined>;

const json = (v: unknown, status = 200): DemoReply => ({
  status,
  contentType: "application/json",
  body: Buffer.from(JSON.stringify(v)),
});

function answer(
  container: MatrixContainer,
  model: string,
  raw: Buffer,
  headers: Headers,
  query: URLSearchParams,
) {
  const o = options(container, query);
  let size: Size;
  try {
    const { width, height } = imageSize(requestImage(container, raw, headers));
    size = { width, height };
  } catch (err) {
    if (err instanceof BadRequest) throw err;
    throw new BadRequest(`the request carries no readable image (${(err as Error).message})`);
  }
  const dets = detect(size, o);
  switch (container) {
    case "objects":
      return json(objectList(dets, o));
    case "rows":
      return json(rows(dets, o));
    case "columns":
      return json(columns(dets, o));
    case "torchvision":
      return json(torchvision(dets, o));
    case "oip_json":
      return json({ model_name: model, outputs: oipOutputs(dets, o) });
    case "oip_binary":
      return binaryReply(model, oipOutputs(dets, o));
    case "kserve_v1":
      return json({ predictions: [objectList(dets, o)] });
    case "tf_od":
      return json({ predictions: [tfOd(dets)] });
  }
}

const CONTAINER = MATRIX_CONTAINERS.join("|");
const PATHS = [
  new RegExp(`^/predictions/(matrix-(${CONTAINER})(?:-[^/]*)?)$`),
  new RegExp(`^/v2/models/(matrix-(${CONTAINER})(?:-[^/]*)?)/infer$`),
  new RegExp(`^/v1/models/(matrix-(${CONTAINER})(?:-[^/:]*)?):predict$`),
];

/** The matrix detector's handler for a request URL (path and query), or undefined if not its. */
export function matrixHandler(url: string): ((raw: Buffer, headers: Headers) => DemoReply) | undefined {
  const parsed = new URL(url, "http://demo");
  const m = PATHS.map((re) => re.exec(parsed.pathname)).find((x) => x !== null);
  if (!m) return undefined;
  const model = m[1]!;
  const container = m[2] as MatrixContainer;
  return (raw, headers) => {
    try {
      return answer(container, model, raw, headers, parsed.searchParams);
    } catch (err) {
      const status = err instanceof BadRequest || err instanceof SyntaxError ? 400 : 500;
      return json({ error: `matrix detector: ${(err as Error).message}` }, status);
    }
  };
}
