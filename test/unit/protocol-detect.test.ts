/** protocol "auto": which parser claims an exchange, in registry order, with generic as the fallback. */
import { describe, expect, it } from "vitest";
import type { BodyView, ParseContext } from "../../src/core/plugins.js";
import { PluginRegistry } from "../../src/plugins/registry.js";
import { pngImage } from "../../tools/demo/traffic.js";

function view(body: string | Buffer, contentType: string, headers: Record<string, string> = {}): BodyView {
  return {
    bytes: new Uint8Array(Buffer.isBuffer(body) ? body : Buffer.from(body)),
    contentType,
    headers: Object.entries(headers).map(([name, value]) => ({ name, value })),
    truncated: false,
  };
}

function ctx(request: BodyView, response: BodyView): ParseContext {
  return { request, response, route: { features: undefined }, startedAtUs: 0, responseChunkTimes: [] };
}

const JSON_T = "application/json";
const detected = (c: ParseContext) => new PluginRegistry().detectionOrder().find((p) => p.detect(c))?.name;

describe("protocol auto-detection", () => {
  it.each([
    [
      "OpenAI chat, streamed",
      ctx(
        view('{"messages":[{"role":"user","content":"hi"}],"stream":true}', JSON_T),
        view("data: {}\n\n", "text/event-stream"),
      ),
      "openai_chat",
    ],
    [
      "OpenAI completions, JSON",
      ctx(view('{"prompt":"hi"}', JSON_T), view('{"choices":[{"text":"yo"}]}', JSON_T)),
      "openai_chat",
    ],
    [
      "Open Inference Protocol JSON",
      ctx(
        view('{"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[1,2]}]}', JSON_T),
        view('{"outputs":[{"name":"y","datatype":"FP32","shape":[1],"data":[0.5]}]}', JSON_T),
      ),
      "kserve_v2",
    ],
    [
      "Open Inference Protocol binary extension",
      ctx(
        view("xx", "application/octet-stream", { "inference-header-content-length": "2" }),
        view("{}", JSON_T),
      ),
      "kserve_v2",
    ],
    [
      "TF Serving rows",
      ctx(view('{"instances":[[1,2]]}', JSON_T), view('{"predictions":[3]}', JSON_T)),
      "kserve_v1",
    ],
    [
      "Hugging Face text pipeline",
      ctx(view('{"inputs":"I love it"}', JSON_T), view('[{"label":"POSITIVE","score":0.99}]', JSON_T)),
      "hf_pipeline",
    ],
    [
      "TorchServe image classifier",
      ctx(view(pngImage(8, 8), "image/png"), view('{"tabby":0.4,"lynx":0.1}', JSON_T)),
      "torchserve",
    ],
    ["CSV rows", ctx(view("a,b\n1,2\n", "text/csv"), view("[0.5]", JSON_T)), "generic"],
    ["anything else", ctx(view("\u0000\u0001", "application/octet-stream"), view("", "")), "generic"],
  ])("%s", (_, c, name) => {
    expect(detected(c)).toBe(name);
  });

  it("leaves truncated JSON to the generic fallback (no detector throws)", () => {
    const c = ctx(view('{"inputs":', JSON_T), view("{", JSON_T));
    expect(detected(c)).toBe("generic");
  });
});
