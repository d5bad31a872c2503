/** src/plugins/registry.ts: protocol "auto", the parser that claims an exchange in detectionOrder(), with generic as the fallback. */
import { describe, expect, it } from "vitest";
import type { ParseContext } from "../../src/core/plugins.js";
import { PluginRegistry } from "../../src/plugins/registry.js";
import { png } from "../support/bytes.js";
import { bodyView, parseContext } from "../support/parse-context.js";

const JSON_T = "application/json";
const detected = (c: ParseContext) => new PluginRegistry().detectionOrder().find((p) => p.detect(c))?.name;

describe("protocol auto-detection", () => {
  it.each([
    [
      "OpenAI chat, streamed",
      parseContext(
        bodyView('{"messages":[{"role":"user","content":"hi"}],"stream":true}', JSON_T),
        bodyView("data: {}\n\n", "text/event-stream"),
      ),
      "openai_chat",
    ],
    [
      "OpenAI completions, JSON",
      parseContext(bodyView('{"prompt":"hi"}', JSON_T), bodyView('{"choices":[{"text":"yo"}]}', JSON_T)),
      "openai_chat",
    ],
    [
      "Open Inference Protocol JSON",
      parseContext(
        bodyView('{"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[1,2]}]}', JSON_T),
        bodyView('{"outputs":[{"name":"y","datatype":"FP32","shape":[1],"data":[0.5]}]}', JSON_T),
      ),
      "kserve_v2",
    ],
    [
      "Open Inference Protocol binary extension",
      parseContext(
        bodyView("xx", "application/octet-stream", { "inference-header-content-length": "2" }),
        bodyView("{}", JSON_T),
      ),
      "kserve_v2",
    ],
    [
      "TF Serving rows",
      parseContext(bodyView('{"instances":[[1,2]]}', JSON_T), bodyView('{"predictions":[3]}', JSON_T)),
      "kserve_v1",
    ],
    [
      "Hugging Face text pipeline",
      parseContext(
        bodyView('{"inputs":"I love it"}', JSON_T),
        bodyView('[{"label":"POSITIVE","score":0.99}]', JSON_T),
      ),
      "hf_pipeline",
    ],
    [
      "TorchServe image classifier",
      parseContext(bodyView(png(8, 8), "image/png"), bodyView('{"tabby":0.4,"lynx":0.1}', JSON_T)),
      "torchserve",
    ],
    ["CSV rows", parseContext(bodyView("a,b\n1,2\n", "text/csv"), bodyView("[0.5]", JSON_T)), "generic"],
    [
      "anything else",
      parseContext(bodyView("\u0000\u0001", "application/octet-stream"), bodyView("", "")),
      "generic",
    ],
  ])("%s", (_, c, name) => {
    expect(detected(c)).toBe(name);
  });

  it("leaves truncated JSON to the generic fallback (no detector throws)", () => {
    const c = parseContext(bodyView('{"inputs":', JSON_T), bodyView("{", JSON_T));
    expect(detected(c)).toBe("generic");
  });
});
