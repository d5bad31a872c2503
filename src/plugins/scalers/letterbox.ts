/**
 * YOLO-style letterbox: the image is scaled to fit inside the input, keeping its aspect ratio, and
 * the leftover border is padded equally on both sides.
 */
import type { Scaler, Size } from "../../core/plugins.js";

function fit(model: Size, original: Size): { r: number; padX: number; padY: number } {
  const r = Math.min(model.width / original.width, model.height / original.height);
  return { r, padX: (model.width - original.width * r) / 2, padY: (model.height - original.height * r) / 2 };
}

export const letterbox: Scaler = {
  name: "letterbox",
  description: "Aspect-preserving resize plus centred padding (YOLO style)",
  toOriginal: (x, y, model, original) => {
    const { r, padX, padY } = fit(model, original);
    return [(x - padX) / r, (y - padY) / r];
  },
  toModel: (x, y, model, original) => {
    const { r, padX, padY } = fit(model, original);
    return [x * r + padX, y * r + padY];
  },
};
