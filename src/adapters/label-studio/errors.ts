/**
 * LabelingFormatError, raised when a prediction, a Label Studio result or a brush mask cannot be
 * converted, and the checks and value quoting its messages share.
 */
export class LabelingFormatError extends Error {
  override name = "LabelingFormatError";
}

export function checkSize(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new LabelingFormatError(`image size must be positive integers, got ${width}×${height}`);
  }
}

/** A value as quoted in a message: JSON, cut to 60 characters; undefined is "nothing". */
export function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (typeof v === "number") return String(v);
  const json = JSON.stringify(v);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}
