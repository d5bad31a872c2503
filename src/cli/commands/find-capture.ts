import type { CaptureRepository, CaptureRow } from "../../core/ports.js";
import { requestIdKey } from "../../core/capture-id.js";
import { ModeltapError } from "../../core/errors.js";

/**
 * The capture an id names: a capture id, or the x-request-id of a request captured on one hop. A
 * request captured on several hops is ambiguous: the error lists its capture ids.
 */
export async function findCapture(captures: CaptureRepository, id: string): Promise<CaptureRow> {
  const row = await captures.getCapture(id);
  if (row) return row;
  const hops = await captures.listCaptures({ requestId: requestIdKey(id), limit: 20 });
  if (hops.length === 1) return hops[0]!;
  if (hops.length > 1) {
    throw new ModeltapError(
      "AMBIGUOUS_ID",
      `request ${JSON.stringify(id)} was captured on ${hops.length === 20 ? "20 or more" : hops.length} hops; give one capture id: ${hops.map((h) => h.id).join(", ")}`,
    );
  }
  throw new ModeltapError("NOT_FOUND", `no capture with id or request id ${JSON.stringify(id)}`);
}
