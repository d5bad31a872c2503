/**
 * The three kinds of exchangeable plugins: protocol parsers, converters and scalers. Each plugin
 * is one plain object in one file under src/plugins/<kind>/, registered in one table in
 * src/plugins/registry.ts. Plugins are pure: bytes and JSON in, canonical values out.
 */
import type { BoxFormat } from "./box-format.js";
import type { ChatMessage, Prediction } from "./canonical.js";
import type { HeaderList } from "./record.js";

/** A plugin failed to understand its input; the capture keeps its raw bytes and this reason. */
export class ParseError extends Error {
  override name = "ParseError";
}

export interface BodyView {
  bytes: Uint8Array;
  contentType: string;
  headers: HeaderList;
  truncated: boolean;
}

/** One input instance as the protocol carried it (before any conversion). */
export interface RawInput {
  features?: Record<string, number | string | boolean | null>;
  text?: string;
  /** Image bytes (raw, base64-decoded or a multipart file). */
  image?: Uint8Array;
  messages?: ChatMessage[];
}

/** Byte offset in the response body, and when (epoch µs) the collector had received that far. */
export type ChunkTime = readonly [endOffset: number, atUs: number];

export interface ParseContext {
  request: BodyView;
  response: BodyView;
  /** Route settings the parser may use (feature names, tensor names). */
  route: { features: readonly string[] | undefined };
  startedAtUs: number;
  responseChunkTimes: readonly ChunkTime[];
}

export interface ParsedExchange {
  inputs: RawInput[];
  /** One raw output per instance, protocol-unwrapped, for the converter. */
  outputs: unknown[];
}

export interface ProtocolParser {
  readonly name: string;
  readonly description: string;
  /** For protocol "auto": true when this parser surely understands the exchange. */
  detect(ctx: ParseContext): boolean;
  /** Throws ParseError when the bodies are not this protocol. */
  parse(ctx: ParseContext): ParsedExchange;
}

export interface Size {
  width: number;
  height: number;
}

export interface ConvertContext {
  /** The route's task (a converter that can give boxes or masks gives what the task asks). */
  task: string;
  /** Label id (as a string) to name, from route config. */
  labels: ReadonlyMap<string, string>;
  /** The model's input resolution, when geometry is relative to it. */
  inputSize: Size | undefined;
  /** The original image size, read from the captured image bytes. */
  imageSize: Size | undefined;
  /** Probability above which a bitmap-mask pixel is set. (Low-score detections are dropped later,
   * by the route's score_threshold, the same way for every converter.) */
  maskThreshold: number;
  topK: number;
  /** The instance's input text, for span converters that need it. */
  text: string | undefined;
  /** Names of the outputs (tensors, columns, keys) holding boxes, scores, labels, masks. */
  outputNames: Readonly<Record<string, string>>;
  /** How the route says its model writes boxes (box_format); undefined: the converter's convention. */
  boxFormat: BoxFormat | undefined;
  /**
   * A point of the original image in the model's input (the scaler's inverse), for boxes normalised
   * to the original image; undefined when the route maps no geometry.
   */
  originalToModel: ((x: number, y: number) => [number, number]) | undefined;
  /** How the route says rows of detections are laid out (row_layout); undefined: the convention's. */
  rowLayout: "box_first" | "class_first" | undefined;
  /** Keeps, on the capture's instance, why an optional part of the output was ignored. */
  note(message: string): void;
}

/**
 * Turns one instance's raw output into a canonical prediction. Geometry comes out in model-input
 * pixels (or original pixels when there is no input size); the scaler maps it afterwards.
 */
export interface Converter {
  readonly name: string;
  readonly description: string;
  readonly tasks: readonly string[];
  convert(raw: unknown, ctx: ConvertContext): Prediction;
}

/** Maps points between the model's input resolution and the original image. */
export interface Scaler {
  readonly name: string;
  readonly description: string;
  toOriginal(x: number, y: number, model: Size, original: Size): [number, number];
  toModel(x: number, y: number, model: Size, original: Size): [number, number];
}
