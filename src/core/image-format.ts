/** Recognising image bytes by content rather than by what a client claims they are. */
import { imageSize } from "image-size";

/**
 * image-size knows many formats whose signatures are weak (TGA, PNM, SVG text...): only formats
 * a model server plausibly receives count, so random bytes or text are not mistaken for images.
 */
const FORMATS = new Map([
  ["png", "png"],
  ["jpg", "jpeg"],
  ["webp", "webp"],
  ["gif", "gif"],
  ["bmp", "bmp"],
  ["tiff", "tiff"],
  ["avif", "avif"],
  ["heic", "heic"],
  ["heif", "heif"],
  ["jxl", "jxl"],
]);

/** The image format of the bytes ("png", "jpeg", ...), or undefined when they are not an image. */
export function imageFormat(bytes: Uint8Array): string | undefined {
  if (bytes.byteLength < 8) return undefined;
  try {
    const size = imageSize(bytes);
    const format = FORMATS.get(size.type ?? "");
    return format && size.width > 0 && size.height > 0 ? format : undefined;
  } catch {
    return undefined;
  }
}

/** The content type of image bytes ("image/png"), or undefined when they are not an image. */
export function imageContentType(bytes: Uint8Array): string | undefined {
  const format = imageFormat(bytes);
  return format && `image/${format}`;
}
