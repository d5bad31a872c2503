/**
 * The plugin tables: every protocol parser, converter and scaler modeltap knows, by name. Route
 * metadata selects plugins by these names; an unknown name fails the route's config with the list
 * of known ones. User plugins (MODELTAP_PLUGINS) are added to the same tables at start-up.
 */
import type { PluginCatalog } from "../core/route-config.js";
import type { Task } from "../core/canonical.js";
import type { Converter, ProtocolParser, Scaler } from "../core/plugins.js";
import { bioTags } from "./converters/ner/bio.js";
import { bitmapMask } from "./converters/detection/bitmap-mask.js";
import { classification } from "./converters/classification.js";
import { cocoBoxes } from "./converters/detection/coco.js";
import { cocoRle } from "./converters/detection/coco-rle.js";
import { generation } from "./converters/generation.js";
import { hfDetection } from "./converters/detection/hf-detection.js";
import { hfNer } from "./converters/ner/hf-ner.js";
import { oipTensors } from "./converters/detection/oip-tensors.js";
import { polygons } from "./converters/detection/polygons.js";
import { regression } from "./converters/regression.js";
import { spacyEnts } from "./converters/ner/spacy.js";
import { tfOdBoxes } from "./converters/detection/tf-od.js";
import { torchvisionBoxes } from "./converters/detection/torchvision.js";
import { vocBoxes } from "./converters/detection/voc.js";
import { yoloBoxes } from "./converters/detection/yolo.js";
import { genericParser } from "./parsers/generic.js";
import { hfPipelineParser } from "./parsers/hf-pipeline.js";
import { kserveV1Parser } from "./parsers/kserve-v1.js";
import { kserveV2Parser } from "./parsers/kserve-v2.js";
import { openaiChatParser } from "./parsers/openai-chat.js";
import { torchserveParser } from "./parsers/torchserve.js";
import { centerCrop } from "./scalers/center-crop.js";
import { letterbox } from "./scalers/letterbox.js";
import { stretch } from "./scalers/stretch.js";

/** Order matters for protocol "auto": the first parser whose detect() says yes is used. */
export const BUILTIN_PARSERS: readonly ProtocolParser[] = [
  openaiChatParser,
  kserveV2Parser,
  kserveV1Parser,
  hfPipelineParser,
  torchserveParser,
  genericParser,
];

export const BUILTIN_CONVERTERS: readonly Converter[] = [
  classification,
  regression,
  generation,
  cocoBoxes,
  vocBoxes,
  yoloBoxes,
  tfOdBoxes,
  torchvisionBoxes,
  hfDetection,
  oipTensors,
  polygons,
  cocoRle,
  bitmapMask,
  hfNer,
  spacyEnts,
  bioTags,
];

export const BUILTIN_SCALERS: readonly Scaler[] = [stretch, letterbox, centerCrop];

const DEFAULT_CONVERTER: Partial<Record<Task, string>> = {
  tabular_classification: "classification",
  tabular_regression: "regression",
  image_classification: "classification",
  text_classification: "classification",
  object_detection: "voc",
  instance_segmentation: "coco_rle",
  ner: "hf_ner",
  text_generation: "generation",
};

export type PluginKind = "parser" | "converter" | "scaler";

export class PluginRegistry implements PluginCatalog {
  readonly parsers = new Map<string, ProtocolParser>();
  readonly converters = new Map<string, Converter>();
  readonly scalers = new Map<string, Scaler>();

  constructor() {
    for (const p of BUILTIN_PARSERS) this.add("parser", p);
    for (const c of BUILTIN_CONVERTERS) this.add("converter", c);
    for (const s of BUILTIN_SCALERS) this.add("scaler", s);
  }

  add(kind: PluginKind, plugin: ProtocolParser | Converter | Scaler): void {
    const table = (
      kind === "parser" ? this.parsers : kind === "converter" ? this.converters : this.scalers
    ) as Map<string, unknown>;
    if (!plugin.name || table.has(plugin.name)) {
      throw new Error(`${kind} ${JSON.stringify(plugin.name)}: the name is empty or already taken`);
    }
    table.set(plugin.name, plugin);
  }

  defaultConverter(task: Task): string | undefined {
    return DEFAULT_CONVERTER[task];
  }

  /** Parsers in detection order (user parsers after the built-ins, before generic). */
  detectionOrder(): ProtocolParser[] {
    const all = [...this.parsers.values()];
    return [...all.filter((p) => p !== genericParser), genericParser];
  }
}
