/** What protocol parsers and the analysis read: a body as captured, and an exchange of two. */
import type { BodyView, ParseContext } from "../../src/core/plugins.js";
import type { HeaderList } from "../../src/core/record.js";

/**
 * A complete (not truncated) body. A string is sent as UTF-8 bytes in a Buffer, as the collector
 * assembles bodies; headers may be given as a list (repeats, any case) or as a plain object.
 */
export function bodyView(
  body: string | Uint8Array,
  contentType: string,
  headers: HeaderList | Readonly<Record<string, string>> = [],
): BodyView {
  return {
    bytes: typeof body === "string" ? Buffer.from(body, "utf8") : body,
    contentType,
    headers: Array.isArray(headers)
      ? headers
      : Object.entries(headers).map(([name, value]) => ({ name, value })),
    truncated: false,
  };
}

/** A value sent as an application/json body. */
export const jsonView = (value: unknown): BodyView => bodyView(JSON.stringify(value), "application/json");

/** An exchange of these two bodies on a route with no feature names, not streamed. */
export function parseContext(request: BodyView, response: BodyView): ParseContext {
  return { request, response, route: { features: undefined }, startedAtUs: 0, responseChunkTimes: [] };
}
