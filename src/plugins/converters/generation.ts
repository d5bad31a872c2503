/** Generated text, as the openai_chat parser reassembles it (JSON or streamed SSE). */
import type { Prediction } from "../../core/canonical.js";
import type { Converter } from "../../core/plugins.js";
import { describe, fail, isRecord, optionalNumber } from "./shared.js";

export const generation: Converter = {
  name: "generation",
  description: "openai_chat output {message, finish_reason, usage, streamed, ttft_ms, total_ms} → generation",
  tasks: ["text_generation"],
  convert(raw): Prediction {
    if (!isRecord(raw) || !isRecord(raw.message))
      fail(`generation: expected {message: {role, content}}, got ${describe(raw)}`);
    const usage = isRecord(raw.usage) ? raw.usage : {};
    return {
      kind: "generation",
      message: { role: String(raw.message.role ?? "assistant"), content: String(raw.message.content ?? "") },
      finish_reason: typeof raw.finish_reason === "string" ? raw.finish_reason : null,
      usage: {
        prompt_tokens: optionalNumber(usage.prompt_tokens, "usage.prompt_tokens"),
        completion_tokens: optionalNumber(usage.completion_tokens, "usage.completion_tokens"),
        total_tokens: optionalNumber(usage.total_tokens, "usage.total_tokens"),
      },
      streamed: raw.streamed === true,
      ttft_ms: optionalNumber(raw.ttft_ms, "ttft_ms"),
      total_ms: optionalNumber(raw.total_ms, "total_ms"),
    };
  },
};
