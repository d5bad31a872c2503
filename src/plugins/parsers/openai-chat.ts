/**
 * OpenAI-compatible chat and completions: JSON responses and streamed server-sent events,
 * reassembled into one message. Time to first token comes from when the collector had received
 * the first event carrying content (ctx.responseChunkTimes), not from anything the server claims.
 */
import type { ChatMessage } from "../../core/canonical.js";
import type { BodyView, ParseContext, ProtocolParser } from "../../core/plugins.js";
import { describe, fail, isRecord } from "../converters/shared.js";
import { isJsonContentType, mediaType, parseJson, tryJson, tryUtf8 } from "./formats/json.js";
import { serverError, serverErrorNote } from "./kserve-v1.js";

interface Usage {
  prompt_tokens: number | null;
  completion_tokens: number | null;
  total_tokens: number | null;
}

interface Reply {
  message: ChatMessage;
  finish_reason: string | null;
  usage: Usage;
  /** Offset just past the first event with content (streams only). */
  firstContentEnd?: number;
  skipped: number;
}

const num = (v: unknown) => (typeof v === "number" ? v : null);

function usageOf(u: unknown): Usage {
  const r = isRecord(u) ? u : {};
  return {
    prompt_tokens: num(r.prompt_tokens),
    completion_tokens: num(r.completion_tokens),
    total_tokens: num(r.total_tokens),
  };
}

/** Message content: a string, or multimodal parts of which the text parts count. */
function contentText(c: unknown, what: string): string {
  if (typeof c === "string") return c;
  if (c === null || c === undefined) return "";
  if (Array.isArray(c)) {
    return c
      .filter((p): p is Record<string, unknown> => isRecord(p) && typeof p.text === "string")
      .map((p) => p.text)
      .join("\n");
  }
  fail(`${what}: content: expected a string or a list of parts, got ${describe(c)}`);
}

function requestMessages(view: BodyView): ChatMessage[] {
  const body = parseJson(view.bytes, "request", view.truncated);
  if (!isRecord(body)) fail(`request: expected a JSON object with messages, got ${describe(body)}`);
  if (Array.isArray(body.messages)) {
    return body.messages.map((m: unknown, i) => {
      if (!isRecord(m) || typeof m.role !== "string")
        fail(`request: messages[${i}]: expected {role, content}`);
      return { role: m.role, content: contentText(m.content, `request: messages[${i}]`) };
    });
  }
  const prompt = body.prompt;
  if (typeof prompt === "string") return [{ role: "user", content: prompt }];
  if (Array.isArray(prompt) && prompt.every((p) => typeof p === "string")) {
    return [{ role: "user", content: prompt.join("\n") }];
  }
  fail("request: expected {messages: [...]} (chat) or {prompt: ...} (completions)");
}

interface SseEvent {
  data: string;
  /** Byte offset just past the event. */
  end: number;
  /** A line of the event was not valid UTF-8: its data cannot be trusted. */
  unreadable: boolean;
}

/**
 * SSE events' data (data lines joined by "\n"). A line that is not UTF-8 spoils only its own
 * event, so one corrupt frame does not cost the rest of the stream.
 */
function sseEvents(bytes: Uint8Array): SseEvent[] {
  const events: SseEvent[] = [];
  let data: string[] = [];
  let unreadable = false;
  const dispatch = (end: number) => {
    if (data.length > 0 || unreadable) events.push({ data: data.join("\n"), end, unreadable });
    data = [];
    unreadable = false;
  };
  let pos = 0;
  while (pos < bytes.byteLength) {
    let lineEnd = pos;
    while (lineEnd < bytes.byteLength && bytes[lineEnd] !== 0x0a && bytes[lineEnd] !== 0x0d) lineEnd++;
    // Line breaks are ASCII, so a line never splits a UTF-8 sequence.
    const line = tryUtf8(bytes.subarray(pos, lineEnd));
    pos = lineEnd + (bytes[lineEnd] === 0x0d && bytes[lineEnd + 1] === 0x0a ? 2 : 1);
    if (line === undefined) unreadable = true;
    else if (line === "") dispatch(Math.min(pos, bytes.byteLength));
    else if (line.startsWith("data:")) data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
    else if (line === "data") data.push("");
    // Comments (":...") and other fields (event, id, retry) carry nothing to reassemble.
  }
  // A capture may end without the final blank line; the event is still complete.
  dispatch(bytes.byteLength);
  return events;
}

function wholeJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(tryUtf8(bytes) ?? "");
  } catch {
    return undefined;
  }
}

function streamedReply(bytes: Uint8Array): Reply {
  let role: string | undefined;
  let content = "";
  let finish: string | null = null;
  let usage: unknown;
  let firstContentEnd: number | undefined;
  let valid = 0;
  let skipped = 0;
  let error: string | undefined;
  for (const event of sseEvents(bytes)) {
    if (event.unreadable) {
      skipped++;
      continue;
    }
    if (event.data.trim() === "[DONE]") break;
    let chunk: unknown;
    try {
      chunk = JSON.parse(event.data);
    } catch {
      skipped++;
      continue;
    }
    if (!isRecord(chunk) || (!Array.isArray(chunk.choices) && !isRecord(chunk.usage))) {
      error ??= serverError(chunk);
      skipped++;
      continue;
    }
    valid++;
    if (isRecord(chunk.usage)) usage = chunk.usage;
    const choices: unknown[] = Array.isArray(chunk.choices) ? chunk.choices : [];
    // Only the first choice (n > 1 streams interleave several) is reassembled.
    const choice = choices.find((c) => isRecord(c) && (c.index ?? 0) === 0);
    if (!isRecord(choice)) continue;
    const delta = isRecord(choice.delta) ? choice.delta : {};
    if (role === undefined && typeof delta.role === "string") role = delta.role;
    const piece =
      typeof delta.content === "string" ? delta.content : typeof choice.text === "string" ? choice.text : "";
    if (piece !== "") {
      content += piece;
      firstContentEnd ??= event.end;
    }
    if (typeof choice.finish_reason === "string") finish = choice.finish_reason;
  }
  if (valid === 0) {
    // A server that fails before streaming may answer a plain JSON error under the SSE type.
    error ??= serverError(wholeJson(bytes));
    const why = error !== undefined ? `; ${serverErrorNote(error)}` : "";
    fail(`response: no valid chunk in the event stream (${skipped} unreadable frames)${why}`);
  }
  return {
    message: { role: role ?? "assistant", content },
    finish_reason: finish,
    usage: usageOf(usage),
    ...(firstContentEnd !== undefined ? { firstContentEnd } : {}),
    skipped,
  };
}

function jsonReply(view: BodyView): Reply {
  const body = parseJson(view.bytes, "response", view.truncated);
  const error = serverError(body);
  if (error !== undefined) fail(`response: ${serverErrorNote(error)}`);
  if (!isRecord(body) || !Array.isArray(body.choices) || body.choices.length === 0) {
    fail(`response: expected {choices: [...]}, got ${describe(body)}`);
  }
  // The first choice by index, as for streams: the list's order is not the choices' order.
  const choices: unknown[] = body.choices;
  const i = Math.max(
    0,
    choices.findIndex((c) => isRecord(c) && (c.index ?? 0) === 0),
  );
  const choice = choices[i];
  if (!isRecord(choice)) fail(`response: choices[${i}]: expected an object, got ${describe(choice)}`);
  let message: ChatMessage;
  if (isRecord(choice.message)) {
    const role = typeof choice.message.role === "string" ? choice.message.role : "assistant";
    message = { role, content: contentText(choice.message.content, `response: choices[${i}].message`) };
  } else if (typeof choice.text === "string") {
    message = { role: "assistant", content: choice.text };
  } else {
    fail(`response: choices[${i}]: expected a message or a text`);
  }
  const finish = typeof choice.finish_reason === "string" ? choice.finish_reason : null;
  return { message, finish_reason: finish, usage: usageOf(body.usage), skipped: 0 };
}

function isStream(view: BodyView): boolean {
  if (mediaType(view.contentType) === "text/event-stream") return true;
  if (isJsonContentType(view.contentType)) return false;
  // Sniffed for servers that stream without the content type; ASCII suffices for the field
  // names. A stream may open with a comment (": ping") or an event/id/retry field, never JSON.
  return /^\s*(?:data|event|id|retry)?:/.test(String.fromCharCode(...view.bytes.subarray(0, 16)));
}

export const openaiChatParser: ProtocolParser = {
  name: "openai_chat",
  description: "OpenAI-compatible chat/completions: JSON or streamed SSE, usage, finish reason, TTFT",
  detect(ctx: ParseContext): boolean {
    if (mediaType(ctx.response.contentType) === "text/event-stream") return true;
    const req = tryJson(ctx.request);
    if (!isRecord(req)) return false;
    if (Array.isArray(req.messages)) return true;
    const res = tryJson(ctx.response);
    return typeof req.prompt === "string" && isRecord(res) && Array.isArray(res.choices);
  },
  parse(ctx: ParseContext) {
    const messages = requestMessages(ctx.request);
    const streamed = isStream(ctx.response);
    const reply = streamed ? streamedReply(ctx.response.bytes) : jsonReply(ctx.response);
    const times = ctx.responseChunkTimes;
    const ms = (atUs: number) => (atUs - ctx.startedAtUs) / 1000;
    const last = times[times.length - 1];
    const first = reply.firstContentEnd;
    const arrived = first !== undefined ? times.find(([end]) => end >= first) : undefined;
    const output = {
      message: reply.message,
      finish_reason: reply.finish_reason,
      usage: reply.usage,
      streamed,
      ttft_ms: streamed && arrived ? ms(arrived[1]) : null,
      total_ms: last ? ms(last[1]) : null,
      skipped_frames: reply.skipped,
    };
    return { inputs: [{ messages }], outputs: [output] };
  },
};
