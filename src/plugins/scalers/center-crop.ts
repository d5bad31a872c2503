/**
 * Resize-then-center-crop (torchvision Resize + CenterCrop style): the image is scaled to cover the
 * input, keeping its aspect ratio, and the overhang is cut equally from both sides. Geometry in the
 * cropped-away margins maps outside the input, so it is lost to the model anyway.
 */
import type { Scaler, Size } from "../../core/plugins.js";

function cover(model: Size, original: Size): { r: number; offX: number; offY: number } {
  const r = Math.max(model.width / original.width, model.height / original.height);
  return { r, offX: (original.width * r - model.width) / 2, offY: (original.height * r - model.height) / 2 };
}

export const centerCrop: Scaler = {
  name: "center_crop",
  description: "Resize covering the model's input size, then a centred crop",
  toOriginal: (x, y, model, original) => {
    const { r, offX, offY } = cover(model, original);
    return [(x + offX) / r, (y + offY) / r];
  },
  toModel: (x, y, model, original) => {
    const { r, offX, offY } = cover(model, original);
    return [x * r - offX, y * r - offY];
  },
};
