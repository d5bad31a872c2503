/**
 * COCO run-length encoding of binary masks. Runs go down the columns (column-major, as COCO stores
 * masks) and alternate zeros and ones, always starting with a (possibly empty) run of zeros. The
 * compressed string form packs each count into 5-bit groups, one character per group.
 */
import type { Rle, Xyxy } from "./canonical.js";
import { ParseError } from "./plugins.js";

/** mask: row-major h×w, any non-zero value is set. */
export function encodeRle(mask: Uint8Array, height: number, width: number): Rle {
  if (mask.length !== height * width) {
    throw new ParseError(`mask has ${mask.length} pixels, expected ${height}×${width}`);
  }
  const counts: number[] = [];
  let current = 0;
  let run = 0;
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      const v = mask[y * width + x] ? 1 : 0;
      if (v !== current) {
        counts.push(run);
        current = v;
        run = 0;
      }
      run++;
    }
  }
  counts.push(run);
  return { size: [height, width], counts };
}

/**
 * The largest mask decoded or drawn, in pixels (64 Mpx, 8192×8192, 64 MiB): a 7-character RLE
 * string can claim any size, so the size is checked before a byte is allocated.
 */
export const MAX_MASK_PIXELS = 2 ** 26;

export function checkMaskSize(height: number, width: number, what = "mask", max = MAX_MASK_PIXELS): void {
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 0 || width < 0) {
    throw new ParseError(`${what}: size ${height}×${width} is not a size in pixels`);
  }
  if (height * width > Math.min(max, MAX_MASK_PIXELS)) {
    throw new ParseError(
      `${what}: ${height}×${width} pixels is more than the ${Math.min(max, MAX_MASK_PIXELS)} a mask may have`,
    );
  }
}

/** Checks an RLE's size and counts without drawing it. */
export function checkRle(rle: Rle, what = "RLE"): void {
  const [height, width] = rle.size;
  checkMaskSize(height, width, what);
  const total = height * width;
  let sum = 0;
  let bad = false;
  for (const c of rle.counts) {
    if (!Number.isInteger(c) || c < 0) bad = true;
    sum += c;
  }
  if (bad || sum !== total) {
    throw new ParseError(
      `RLE counts must be non-negative integers summing to ${height}×${width} = ${total}, got a sum of ${sum}`,
    );
  }
}

/**
 * The tight box [x1, y1, x2, y2] (exclusive) around an RLE's set pixels, from its runs alone
 * (O(runs), nothing drawn), or null when no pixel is set. Call checkRle first.
 */
export function rleBox(rle: Rle): Xyxy | null {
  const height = rle.size[0];
  const box: Xyxy = [Infinity, Infinity, -Infinity, -Infinity];
  let pos = 0;
  rle.counts.forEach((count, i) => {
    if (i % 2 === 1 && count > 0) {
      const first = pos;
      const last = pos + count - 1;
      const c1 = Math.floor(first / height);
      const c2 = Math.floor(last / height);
      box[0] = Math.min(box[0], c1);
      box[2] = Math.max(box[2], c2 + 1);
      // A run over a column boundary reaches the bottom of one column and the top of the next.
      box[1] = Math.min(box[1], c2 > c1 ? 0 : first % height);
      box[3] = Math.max(box[3], c2 > c1 ? height : (last % height) + 1);
    }
    pos += count;
  });
  return box[2] < 0 ? null : box;
}

/** Returns the mask row-major, h×w, of 0/1. */
export function decodeRle(rle: Rle): Uint8Array {
  const [height, width] = rle.size;
  checkRle(rle);
  const total = height * width;
  const out = new Uint8Array(total);
  let pos = 0;
  rle.counts.forEach((count, i) => {
    if (i % 2 === 1) {
      for (let p = pos; p < pos + count; p++) {
        // p walks columns: row p % height of column floor(p / height).
        out[(p % height) * width + Math.floor(p / height)] = 1;
      }
    }
    pos += count;
  });
  return out;
}

/**
 * Counts after the second are stored as the difference to the count two back (the run of the same
 * value), which keeps them small; each value is then written as signed 5-bit groups, low first, bit
 * 0x20 meaning "more groups follow", shifted into printable ASCII by adding 48.
 */
export function encodeCompressedCounts(counts: number[]): string {
  let s = "";
  counts.forEach((count, i) => {
    let x = i > 2 ? count - counts[i - 2]! : count;
    for (;;) {
      let c = x & 0x1f;
      x = Math.floor(x / 32);
      // Stop once the rest is pure sign extension of the group just written.
      const more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      s += String.fromCharCode(c + 48);
      if (!more) break;
    }
  });
  return s;
}

export function decodeCompressedCounts(s: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let scale = 1;
    for (;;) {
      if (p >= s.length) throw new ParseError("compressed RLE counts end in the middle of a value");
      const c = s.charCodeAt(p++) - 48;
      if (c < 0 || c > 0x3f) throw new ParseError(`compressed RLE counts: invalid character at ${p - 1}`);
      x += (c & 0x1f) * scale;
      scale *= 32;
      if (!(c & 0x20)) {
        if (c & 0x10) x -= scale;
        break;
      }
    }
    const i = counts.length;
    counts.push(i > 2 ? x + counts[i - 2]! : x);
  }
  return counts;
}

/** The tight box [x1, y1, x2, y2] (x2, y2 exclusive) around a row-major mask, or null if empty. */
/** The extent of flat [x, y, x, y, …] rings (a loop: spreading a million points would overflow the stack). */
export function polygonsBox(rings: readonly (readonly number[])[]): Xyxy {
  const box: Xyxy = [Infinity, Infinity, -Infinity, -Infinity];
  for (const ring of rings) {
    for (let k = 0; k + 1 < ring.length; k += 2) {
      box[0] = Math.min(box[0], ring[k]!);
      box[1] = Math.min(box[1], ring[k + 1]!);
      box[2] = Math.max(box[2], ring[k]!);
      box[3] = Math.max(box[3], ring[k + 1]!);
    }
  }
  return box;
}

export function maskBox(mask: Uint8Array, height: number, width: number): Xyxy | null {
  let x1 = width;
  let y1 = height;
  let x2 = -1;
  let y2 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!mask[y * width + x]) continue;
      if (x < x1) x1 = x;
      if (x > x2) x2 = x;
      if (y < y1) y1 = y;
      if (y > y2) y2 = y;
    }
  }
  return x2 < 0 ? null : [x1, y1, x2 + 1, y2 + 1];
}

/** Rows [from, to) of one column that a set of polygons covers. */
type Span = [from: number, to: number];

/** Rows whose pixel centre (x + 0.5, y + 0.5) lies inside one polygon (even-odd rule). */
function columnSpans(poly: readonly number[], cx: number, height: number): Span[] {
  const ys: number[] = [];
  const n = Math.floor(poly.length / 2);
  for (let i = 0; i < n; i++) {
    const x1 = poly[2 * i]!;
    const y1 = poly[2 * i + 1]!;
    const x2 = poly[2 * ((i + 1) % n)]!;
    const y2 = poly[2 * ((i + 1) % n) + 1]!;
    if (x1 <= cx !== x2 <= cx) ys.push(y1 + ((cx - x1) * (y2 - y1)) / (x2 - x1));
  }
  ys.sort((a, b) => a - b);
  const spans: Span[] = [];
  for (let i = 0; i + 1 < ys.length; i += 2) {
    const from = Math.max(0, Math.ceil(ys[i]! - 0.5));
    const to = Math.min(height, Math.ceil(ys[i + 1]! - 0.5));
    if (to > from) spans.push([from, to]);
  }
  return spans;
}

/**
 * Rasterises polygons (flat [x1, y1, x2, y2, ...] lists, one mask's parts, united) straight into
 * column-major RLE: a pixel is set when its centre is inside. Costs O(width × edges), never
 * allocates the bitmap.
 */
export function polygonsToRle(
  polygons: readonly (readonly number[])[],
  height: number,
  width: number,
  maxPixels = MAX_MASK_PIXELS,
): Rle {
  checkMaskSize(height, width, "polygon mask", maxPixels);
  const counts: number[] = [];
  let end = 0; // linear index just past the last set run
  const setRun = (start: number, stop: number) => {
    if (counts.length > 0 && start <= end) {
      counts[counts.length - 1]! += Math.max(0, stop - end);
    } else {
      counts.push(start - end, stop - start);
    }
    end = Math.max(end, stop);
  };
  // Only the columns the polygons reach can have set pixels.
  const [bx1, , bx2] = polygonsBox(polygons);
  const from = Math.max(0, Math.floor(bx1 - 0.5));
  const to = Math.min(width, Math.ceil(bx2 + 0.5));
  for (let x = from; x < to; x++) {
    const spans = polygons.flatMap((p) => columnSpans(p, x + 0.5, height)).sort((a, b) => a[0] - b[0]);
    for (const [from, to] of spans) setRun(x * height + from, x * height + to);
  }
  counts.push(height * width - end);
  return { size: [height, width], counts };
}
