/** The image was resized to the input size with no regard for its aspect ratio. */
import type { Scaler } from "../../core/plugins.js";

export const stretch: Scaler = {
  name: "stretch",
  description: "Independent x/y resize to the model's input size",
  toOriginal: (x, y, model, original) => [
    (x * original.width) / model.width,
    (y * original.height) / model.height,
  ],
  toModel: (x, y, model, original) => [
    (x * model.width) / original.width,
    (y * model.height) / original.height,
  ],
};
