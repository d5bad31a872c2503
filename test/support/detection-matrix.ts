/**
 * The detection matrix's cases: how a case's request is sent, what route metadata it gets, and
 * what the demo's matrix detector (tools/demo/detector-matrix.ts) is asked to answer. Shared by the
 * unit matrix (the collector's analysis, every container × box format) and the end-to-end matrix
 * (the real Envoy and collector).
 */
import type { MatrixContainer } from "../../tools/demo/detector-matrix.js";

export const MATRIX_LABELS = ["person", "car", "dog"];

/** The box format each convention means when the route gives no box_format. */
export const CONVENTION_FORMAT: Record<string, string> = {
  voc: "xyxy",
  coco: "xywh",
  yolo: "cxcywh_normalized",
  tf_od: "yxyx_normalized",
  hf_detection: "xyxy",
  torchvision: "xyxy",
  oip_tensors: "xyxy",
};

/** Non-square inputs too, so a normalisation by the wrong side shows. */
export const CONVENTION_INPUT: Record<string, string> = { voc: "640x640", coco: "800x600", yolo: "640x480" };

export const PROTOCOL: Record<MatrixContainer, string> = {
  objects: "torchserve",
  rows: "torchserve",
  columns: "torchserve",
  torchvision: "torchserve",
  oip_json: "kserve_v2",
  oip_binary: "kserve_v2",
  kserve_v1: "kserve_v1",
  tf_od: "kserve_v1",
};

export interface Case {
  /** Unique; the route's model is `matrix-<name>`, and the name starts with the container. */
  name: string;
  container: MatrixContainer;
  converter: string;
  /** Absent: no scaler and no input_size (the model saw the original image). */
  scaler?: "letterbox" | "stretch";
  input?: string;
  /** The box format the model writes (the demo's `format`). */
  format: string;
  /** The demo's `layout` (key names, row order, list or dict). */
  layout?: string;
  /** The demo's output names (columns and OIP tensors). */
  names?: readonly [string, string, string];
  /** Route metadata beside the common keys: box_format, output_names. */
  route?: Record<string, unknown>;
}

export function routeMetadata(c: Case): Record<string, unknown> {
  return {
    model: `matrix-${c.name}`,
    version: "1",
    task: "object_detection",
    protocol: PROTOCOL[c.container],
    converter: c.converter,
    ...(c.scaler ? { scaler: c.scaler, input_size: c.input } : {}),
    labels: MATRIX_LABELS,
    ...c.route,
  };
}

export function casePath(c: Case): string {
  const protocol = PROTOCOL[c.container];
  if (protocol === "kserve_v2") return `/v2/models/matrix-${c.name}/infer`;
  if (protocol === "kserve_v1") return `/v1/models/matrix-${c.name}:predict`;
  return `/predictions/matrix-${c.name}`;
}

export function caseQuery(c: Case): string {
  const q = new URLSearchParams({ format: c.format });
  if (c.scaler) q.set("input", c.input!);
  if (c.scaler) q.set("resize", c.scaler);
  if (c.layout) q.set("layout", c.layout);
  if (c.names) q.set("names", c.names.join(","));
  return q.toString();
}

/** The request carrying the image, as each protocol's clients send it. */
export function request(
  c: Case,
  image: Buffer,
): { body: Buffer | string; contentType: string; headers?: Record<string, string> } {
  switch (c.container) {
    case "oip_json":
      return {
        contentType: "application/json",
        body: JSON.stringify({
          inputs: [{ name: "image", datatype: "BYTES", shape: [1], data: [image.toString("base64")] }],
        }),
      };
    case "oip_binary": {
      // The binary tensor extension both ways, as tritonclient sends it: the BYTES element is a
      // 4-byte little-endian length and the raw PNG.
      const element = Buffer.alloc(4 + image.length);
      element.writeUInt32LE(image.length, 0);
      image.copy(element, 4);
      const header = Buffer.from(
        JSON.stringify({
          inputs: [
            {
              name: "image",
              datatype: "BYTES",
              shape: [1],
              parameters: { binary_data_size: element.length },
            },
          ],
          outputs: (c.names ?? ["boxes", "scores", "labels"]).map((name) => ({
            name,
            parameters: { binary_data: true },
          })),
        }),
      );
      return {
        contentType: "application/octet-stream",
        headers: { "inference-header-content-length": String(header.length) },
        body: Buffer.concat([header, element]),
      };
    }
    case "kserve_v1":
    case "tf_od":
      return {
        contentType: "application/json",
        body: JSON.stringify({ instances: [{ b64: image.toString("base64") }] }),
      };
    default:
      return { contentType: "image/png", body: image };
  }
}
