/** A converter's context for tests: neutral defaults, any field overridden, notes collected. */
import type { ConvertContext } from "../../src/core/plugins.js";

export function convertContext(over: Partial<ConvertContext> = {}): ConvertContext & { notes: string[] } {
  const notes: string[] = [];
  return {
    task: "object_detection",
    labels: new Map(),
    inputSize: undefined,
    imageSize: undefined,
    maskThreshold: 0.5,
    topK: 5,
    text: undefined,
    outputNames: {},
    boxFormat: undefined,
    rowLayout: undefined,
    originalToModel: undefined,
    note: (message) => void notes.push(message),
    ...over,
    notes,
  };
}
