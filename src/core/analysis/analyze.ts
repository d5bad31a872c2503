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
import { scalePrediction } from "./geometry.js";
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

function imageInfo(bytes: Uint8Array | undefined): ImageInfo | undefined {
  if (!bytes) return undefined;
  try {
    const s = imageSize(bytes);
    return s.width && s.height
      ? { width: s.width, height: s.height, format: s.type ?? "unknown" }
      : undefined;
  } catch {
    return undefined;
  }
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

function describeError(plugin: string, err: unknown): string {
  if (!(err instanceof ParseError)) return `${plugin}: internal error: ${errorMessage(err)}`;
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
  const errors: string[] = [];
  const instances: Instance[] = parsed.inputs.map((raw: RawInput, i) => {
    const image = imageInfo(raw.image);
    const input = {
      ...(raw.features ? { features: raw.features } : {}),
      ...(raw.text !== undefined ? { text: raw.text } : {}),
      ...(image ? { image } : {}),
      ...(raw.messages ? { messages: raw.messages } : {}),
    };
    let prediction: Prediction | null = null;
    const notes: string[] = [];
    let unsaid = 0;
    if (cfg.converter && i < parsed.outputs.length) {
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
        note: (message) => {
          // Each note is short (a model can put any text in a key), and there are few of them.
          if (notes.length < MAX_NOTES)
            notes.push(`${cfg.converter!.name}: ${message.slice(0, MAX_NOTE_CHARS)}`);
          else unsaid++;
        },
      };
      try {
        prediction = dropLowScores(cfg.converter.convert(parsed.outputs[i], cctx), cfg.scoreThreshold);
        if (cfg.scaler && cfg.inputSize) {
          if (!image)
            throw new ParseError(
              "the scaler needs the original image size, but no image was read from the request",
            );
          prediction = scalePrediction(prediction, cfg.scaler, cfg.inputSize, image);
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
  return {
    analysis: { schema_version: CANONICAL_SCHEMA_VERSION, task, protocol: parser.name, instances },
    parseError: errors.join("; "),
    inputs: parsed.inputs,
  };
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
  record.parseError = parseError;
  if (analysis) record.analysisJson = Buffer.from(JSON.stringify(analysis));
  return inputs;
}
