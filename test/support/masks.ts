/** Masks (row-major, 1 inside) whose shape shows any transposed, flipped or shifted decode. */

/** A circle plus a corner block on 37×23, so a transposed or flipped decode cannot pass. */
export function circleMask(): Uint8Array {
  const w = 37;
  const h = 23;
  const mask = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if ((x - 20) ** 2 + (y - 12) ** 2 <= 64 || (x < 3 && y < 2)) mask[y * w + x] = 1;
    }
  }
  return mask;
}
