/** Hugging Face object-detection pipeline: [{score, label, box: {xmin, ymin, xmax, ymax}}]. */
import type { Box } from "../../core/canonical.js";
import type { ConvertContext, Converter } from "../../core/plugins.js";
import { asNumber, describe, fail, isRecord } from "./shared.js";
import { detectionList, labelAt, makeBox, scoreAt } from "./voc.js";

function hfBox(item: unknown, i: number, ctx: ConvertContext): Box {
  const what = `hf_detection[${i}]`;
  if (!isRecord(item) || !isRecord(item.box)) {
    fail(`${what}: expected {score, label, box: {xmin, ymin, xmax, ymax}}, got ${describe(item)}`);
  }
  const b = item.box;
  const n = (k: string) => asNumber(b[k], `${what}.box.${k}`);
  const label = labelAt(item, ["label"], ctx, what);
  return makeBox(label, scoreAt(item, ["score"], what), [n("xmin"), n("ymin"), n("xmax"), n("ymax")]);
}

export const hfDetection: Converter = {
  name: "hf_detection",
  description: "Hugging Face [{score, label, box: {xmin, ymin, xmax, ymax}}] → boxes",
  tasks: ["object_detection"],
  convert: (raw, ctx) => ({
    kind: "detection",
    boxes: detectionList(raw, "hf_detection").map((item, i) => hfBox(item, i, ctx)),
  }),
};
