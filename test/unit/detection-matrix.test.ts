/**
 * Every container × every box format, through the collector's analysis (the real protocol parser,
 * converter and letterbox scaler of src/core/analysis/analyze.ts): the demo's matrix detector
 * answers its fixed scene in the cell's container and format, and the boxes must come back in
 * original-image pixels within 1 px. docs/plugins.md's table lists the same cells.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/config.js";
import { analyzeExchange } from "../../src/core/analysis/analyze.js";
import { BOX_FORMAT_NAMES } from "../../src/core/box-format.js";
import type { BodyView } from "../../src/core/plugins.js";
import { compileRouteConfig } from "../../src/core/route-config.js";
import { BUILTIN_PARSERS, PluginRegistry } from "../../src/plugins/registry.js";
import {
  MATRIX_CONTAINERS,
  matrixHandler,
  matrixSceneBoxes,
  type MatrixContainer,
} from "../../tools/demo/detector-matrix.js";
import { pngImage } from "../../tools/demo/payloads.js";
import {
  CONVENTION_FORMAT,
  MATRIX_LABELS,
  casePath,
  caseQuery,
  request,
  routeMetadata,
  type Case,
} from "../support/detection-matrix.js";
import { validConfig } from "../support/routes.js";

/** The convention whose own format a cell is; other formats are the route's box_format on voc. */
const CONVENTION_OF: Record<string, string> = Object.fromEntries(
  ["voc", "coco", "yolo", "tf_od"].map((c) => [CONVENTION_FORMAT[c], c]),
);

function matrixCell(container: MatrixContainer, format: string): Case {
  const converter = CONVENTION_OF[format] ?? "voc";
  return {
    name: `${container}-${format}`,
    container,
    converter,
    // A non-square input, so a normalisation by the wrong side would show.
    scaler: "letterbox",
    input: "640x480",
    format,
    ...(container === "rows" ? { layout: converter === "yolo" ? "class_first" : "box_first" } : {}),
    ...(CONVENTION_OF[format] ? {} : { route: { box_format: format } }),
  };
}

const view = (
  body: Buffer | string,
  contentType: string,
  headers: Record<string, string> = {},
): BodyView => ({
  bytes: new Uint8Array(Buffer.from(body)),
  contentType,
  headers: Object.entries(headers).map(([name, value]) => ({ name, value })),
  truncated: false,
});

const plugins = new PluginRegistry();
const IMAGES = [pngImage(1280, 720), pngImage(500, 900)];

describe.each(MATRIX_CONTAINERS.map((c) => [c] as const))("container %s", (container) => {
  it.each(BOX_FORMAT_NAMES.map((f) => [f] as const))(
    "× %s: boxes in original pixels within 1 px",
    (format) => {
      const cell = matrixCell(container, format);
      const cfg = validConfig(compileRouteConfig(plugins, routeMetadata(cell))).analysis;
      for (const image of IMAGES) {
        const req = request(cell, image);
        const reply = matrixHandler(`${casePath(cell)}?${caseQuery(cell)}`)!(
          Buffer.from(req.body),
          req.headers ?? {},
        );
        expect(reply.status, reply.body.toString()).toBe(200);
        const { analysis, parseError } = analyzeExchange("object_detection", cfg, BUILTIN_PARSERS, {
          request: view(req.body, req.contentType, req.headers),
          response: view(reply.body, reply.contentType, reply.headers),
          route: { features: undefined },
          startedAtUs: 0,
          responseChunkTimes: [],
        });
        expect(parseError).toBe("");
        const { input, prediction } = analysis!.instances[0]!;
        const size = input.image!;
        const boxes = prediction?.kind === "detection" ? prediction.boxes : [];
        const want = matrixSceneBoxes(size.width, size.height);
        expect(boxes.map((b) => [b.label, b.score])).toEqual(
          want.map((w) => [MATRIX_LABELS[w.label], w.score]),
        );
        boxes.forEach((b, i) =>
          b.xyxy.forEach((v, k) =>
            expect(Math.abs(v - want[i]!.xyxy[k]!), `box ${i}[${k}]`).toBeLessThanOrEqual(1),
          ),
        );
      }
    },
  );
});

describe("docs/plugins.md", () => {
  it("lists every cell of the container × format table the tests run", () => {
    const doc = fs.readFileSync(path.join(PACKAGE_ROOT, "docs", "plugins.md"), "utf8");
    const table = /<!-- detection-matrix -->\n([\s\S]*?)<!-- \/detection-matrix -->/.exec(doc)![1]!;
    const [head, , ...rows] = table.trim().split("\n");
    const columns = head!
      .split("|")
      .slice(2, -1)
      .map((c) => c.trim().replace(/`/g, ""));
    expect(columns).toEqual([...BOX_FORMAT_NAMES]);
    expect(rows.map((r) => r.split("|")[1]!.trim().replace(/`/g, ""))).toEqual([...MATRIX_CONTAINERS]);
    for (const r of rows)
      expect(
        r
          .split("|")
          .slice(2, -1)
          .every((c) => c.trim() === "✓"),
        r,
      ).toBe(true);
  });
});
