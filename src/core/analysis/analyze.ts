/**
 * Understanding an exchange: pick the protocol parser, split the exchange into instances, convert
 * each instance's raw output into a canonical prediction, and map geometry back onto the original
 * image. Never throws: a failure becomes `parseError` and the raw bytes stay the source of truth.
 */
import { imageSize } from "image-size";
import {
  CANONICAL_SCHEMA_VERSION,
  type Analysis,
  type ImageInfo,
  type Instance,
  type Prediction,
} from "../canonical.js";
import { errorMessage } from "../errors.js";
import {
  analysisBudget,
  imageOverBudget,
  MaskAllowance,
  type BudgetName,
  type GeometryBudget,
} from "../budget.js";
import { scalePrediction, type MaskGate } from "./geometry.js";
import { InstanceErrors, capParseError, encodeAnalysis } from "./record-caps.js";
import {
  ParseError,
  type ChunkTime,
  type ConvertContext,
  type ParseContext,
  type ProtocolParser,
  type RawInput,
} from "../plugins.js";
import type { CaptureRecord, CapturedBody } from "../record.js";
import type { AnalysisConfig } from "../route-config.js";
import type { Task } from "../canonical.js";

/** Notes kept per instance: a model with thousands of odd detections must not bloat the record. */
const MAX_NOTES = 20;
const MAX_NOTE_CHARS = 300;

export interface AnalysisResult {
  analysis: Analysis | undefined;
  /** "" when everything was understood; else "<plugin>: <reason>". */
  parseError: string;
  /** The parser's inputs (decoded images among them); empty when nothing was parsed. */
  inputs: readonly RawInput[];
}

/**
 * The image's size from its header, trusted only within the image budget: past it the image is
 * kept (as bytes) but not used for geometry, and `refused` says why.
 */
function imageInfo(
  bytes: Uint8Array | undefined,
  budget: GeometryBudget,
): { image?: ImageInfo; refused?: string } {
  if (!bytes) return {};
  let s;
  try {
    s = imageSize(bytes);
  } catch {
    return {};
  }
  if (!s.width || !s.height) return {};
  const refused = imageOverBudget(s.width, s.height, budget);
  return refused ? { refused } : { image: { width: s.width, height: s.height, format: s.type ?? "unknown" } };
}

function choose(
  cfg: AnalysisConfig,
  parsers: readonly ProtocolParser[],
  ctx: ParseContext,
): ProtocolParser | undefined {
  if (cfg.parser !== "auto") return cfg.parser;
  return parsers.find((p) => {
    try {
      return p.detect(ctx);
    } catch {
      return false;
    }
  });
}

/**
 * A plugin's unexpected error, cut at its first quote: runtime messages quote values (V8's JSON
 * errors quote the input), and a parse error must never carry body text.
 */
function unquoted(message: string): string {
  const quote = message.search(/["'`]/);
  return (quote < 0 ? message : `${message.slice(0, quote)}…`).slice(0, 200);
}

function describeError(plugin: string, err: unknown): string {
  if (!(err instanceof ParseError)) return `${plugin}: internal error: ${unquoted(errorMessage(err))}`;
  return err.message.startsWith(`${plugin}:`) ? err.message : `${plugin}: ${err.message}`;
}

/** score_threshold applies to every detection and segmentation converter alike. */
function dropLowScores(p: Prediction, threshold: number): Prediction {
  if (threshold <= 0) return p;
  const keep = (x: { score: number | null }) => x.score === null || x.score >= threshold;
  if (p.kind === "detection") return { ...p, boxes: p.boxes.filter(keep) };
  if (p.kind === "segmentation") return { ...p, instances: p.instances.filter(keep) };
  return p;
}

export function analyzeExchange(
  task: Task,
  cfg: AnalysisConfig,
  parsers: readonly ProtocolParser[],
  ctx: ParseContext,
): AnalysisResult {
  if (task === "unknown") return { analysis: undefined, parseError: "", inputs: [] };
  const parser = choose(cfg, parsers, ctx);
  if (!parser) {
    return {
      analysis: undefined,
      parseError: "auto: no protocol parser recognised the exchange",
      inputs: [],
    };
  }
  let parsed;
  try {
    parsed = parser.parse(ctx);
  } catch (err) {
    return { analysis: undefined, parseError: describeError(parser.name, err), inputs: [] };
  }
  const errors = new InstanceErrors();
  const over = new Set<BudgetName>();
  const masks = new MaskAllowance(cfg.budget);
  // Instances past the budget stay in the raw bodies, unanalysed.
  const inputs = parsed.inputs.slice(0, cfg.budget.instances);
  if (inputs.length < parsed.inputs.length) over.add("instances");
  const instances: Instance[] = inputs.map((raw: RawInput, i) => {
    const { image, refused } = imageInfo(raw.image, cfg.budget);
    const input = {
      ...(raw.features ? { features: raw.features } : {}),
      ...(raw.text !== undefined ? { text: raw.text } : {}),
      ...(image ? { image } : {}),
      ...(raw.messages ? { messages: raw.messages } : {}),
    };
    let prediction: Prediction | null = null;
    const notes: string[] = [];
    let unsaid = 0;
    // Few notes per instance: a model with thousands of odd detections must not bloat the record.
    const keep = (message: string) => {
      if (notes.length < MAX_NOTES) notes.push(message);
      else unsaid++;
    };
    if (refused) {
      over.add("image_pixels");
      keep(refused);
    }
    // Mapping geometry needs the original size: with no size to trust, nothing is mapped.
    if (refused && cfg.scaler && cfg.inputSize && cfg.converter) {
      keep(`${cfg.converter.name}: prediction not mapped onto an image whose size is not trusted`);
    } else if (cfg.converter && i < parsed.outputs.length) {
      const { scaler, inputSize } = cfg;
      const cctx: ConvertContext = {
        labels: cfg.labels,
        inputSize,
        imageSize: image,
        maskThreshold: cfg.maskThreshold,
        topK: cfg.topK,
        text: raw.text,
        outputNames: cfg.outputNames,
        task,
        boxFormat: cfg.boxFormat,
        rowLayout: cfg.rowLayout,
        originalToModel:
          scaler && inputSize && image ? (x, y) => scaler.toModel(x, y, inputSize, image) : undefined,
        // Each note is short: a model can put any text in a key.
        note: (message) => keep(`${cfg.converter!.name}: ${message.slice(0, MAX_NOTE_CHARS)}`),
      };
      try {
        prediction = dropLowScores(cfg.converter.convert(parsed.outputs[i], cctx), cfg.scoreThreshold);
        if (cfg.scaler && cfg.inputSize) {
          if (!image)
            throw new ParseError(
              "the scaler needs the original image size, but no image was read from the request",
            );
          const gate: MaskGate = ([h, w], [sh, sw], j) => {
            const source = sh * sw > cfg.budget.maskPixels;
            const reason = source ? "mask_pixels" : masks.take(h, w);
            if (!reason) return true;
            over.add(reason);
            const why = source ? masks.describe(reason, sh, sw) : masks.describe(reason, h, w);
            keep(`mask ${j} not drawn at the image's size: ${why}`);
            return false;
          };
          prediction = scalePrediction(prediction, cfg.scaler, cfg.inputSize, image, gate);
        }
      } catch (err) {
        errors.push(`instance ${i}: ${describeError(cfg.converter.name, err)}`);
      }
    }
    if (unsaid) notes.push(`… and ${unsaid} more notes like these`);
    return { input, prediction, ...(notes.length ? { notes } : {}) };
  });
  if (cfg.converter && parsed.outputs.length !== parsed.inputs.length) {
    errors.push(`${parser.name}: ${parsed.inputs.length} inputs but ${parsed.outputs.length} outputs`);
  }
  const analysis: Analysis = {
    schema_version: CANONICAL_SCHEMA_VERSION,
    task,
    protocol: parser.name,
    instances,
  };
  if (over.size) analysis.over_budget = [...over].sort();
  // The worker draws this route's masks within the same budget.
  if (task === "instance_segmentation") analysis.budget = analysisBudget(cfg.budget);
  return { analysis, parseError: errors.text(), inputs };
}

/**
 * Analyze a finished record in place (collector side): fills analysisJson and parseError. Returns
 * the parser's inputs, whose decoded images the collector keeps for object storage.
 */
export function analyzeRecord(
  record: CaptureRecord,
  task: Task,
  cfg: AnalysisConfig,
  parsers: readonly ProtocolParser[],
  responseChunkTimes: readonly ChunkTime[],
): readonly RawInput[] {
  const view = (b: CapturedBody) => ({
    bytes: b.data,
    contentType: b.contentType,
    headers: b.headers,
    truncated: b.truncated,
  });
  if (record.request.truncated || record.response.truncated) {
    record.parseError = "body truncated at max_body_bytes; not parsed";
    return [];
  }
  const { analysis, parseError, inputs } = analyzeExchange(task, cfg, parsers, {
    request: view(record.request),
    response: view(record.response),
    route: { features: cfg.features },
    startedAtUs: record.startedAtUs,
    responseChunkTimes,
  });
  record.parseError = capParseError(parseError, cfg.maxParseErrorChars);
  if (analysis) record.analysisJson = encodeAnalysis(analysis, cfg.maxAnalysisBytes).json;
  return inputs;
}
