/** Recognising image bytes, by content rather than by what a client claims they are. */
import { mediaType } from "./json.js";

// The core decides what counts as an image (the collector keeps decoded images by the same rule).
export { imageFormat } from "../../../core/image-format.js";

export function isImageContentType(contentType: string): boolean {
  return mediaType(contentType).startsWith("image/");
}
