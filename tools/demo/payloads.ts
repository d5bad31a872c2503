/**
 * Request bodies the demo inference server's models accept (tools/demo/models.ts). The demo, the
 * benchmarks and the end-to-end tests build their traffic from these, so what the models are sent
 * is written once.
 */
import { encode } from "fast-png";

/** An iris KServe V2 request; i varies the four features. */
export function irisBody(i: number): string {
  const row = [5.1 + (i % 7) * 0.3, 3.5 - (i % 3) * 0.2, 1.4 + (i % 5) * 1.1, 0.2 + (i % 4) * 0.5];
  return JSON.stringify({
    inputs: [{ name: "features", datatype: "FP32", shape: [1, 4], data: row.map((x) => +x.toFixed(2)) }],
  });
}

/** A sentiment KServe V2 request with one text (BYTES tensor); i picks the text. */
export function sentimentBody(i: number): string {
  const texts = ["I love this product", "terrible support", "great value, excellent", "it broke after a day"];
  return JSON.stringify({
    inputs: [{ name: "text", datatype: "BYTES", shape: [1], data: [texts[i % texts.length]] }],
  });
}

/** A Hugging Face pipeline NER request; i picks the text. */
export function nerBody(i: number): string {
  const texts = ["Alice flew from Paris to Berlin", "Bob lives in London", "Wolfgang met Alice in Paris"];
  return JSON.stringify({ inputs: texts[i % texts.length] });
}

/** An OpenAI chat completion request, streamed (SSE) or not. */
export function chatBody(i: number, stream: boolean): string {
  return JSON.stringify({
    model: "demo",
    stream,
    messages: [{ role: "user", content: `question number ${i}` }],
  });
}

/** A flat-colour PNG of the given size (the demo models only look at the size). */
export function pngImage(width: number, height: number): Buffer {
  const data = new Uint8Array(width * height * 3).fill(128);
  return Buffer.from(encode({ width, height, data, channels: 3, depth: 8 }));
}
