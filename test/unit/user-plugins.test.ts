/** src/plugins/user-plugins.ts: loadUserPlugins adds a user's parsers, converters and scalers to the registry. */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/config.js";
import { ConfigError } from "../../src/core/errors.js";
import { convertContext } from "../support/convert-context.js";
import { compileRouteConfig } from "../../src/core/route-config.js";
import { PluginRegistry } from "../../src/plugins/registry.js";
import { loadUserPlugins } from "../../src/plugins/user-plugins.js";

const fixture = (f: string) => path.join(PACKAGE_ROOT, "test", "fixtures", "user-plugins", f);

describe("user plugins", () => {
  it("join the registry and are selectable by name in route metadata", async () => {
    const registry = new PluginRegistry();
    expect(
      compileRouteConfig(registry, { model: "m", task: "image_classification", converter: "my_scores" })?.ok,
    ).toBe(false);
    expect(await loadUserPlugins(registry, [fixture("my-plugins.mjs")])).toEqual(["converter my_scores"]);
    const r = compileRouteConfig(registry, {
      model: "m",
      task: "image_classification",
      converter: "my_scores",
    });
    expect(r?.ok).toBe(true);
    const converter = r?.ok ? r.config.analysis.converter : undefined;
    const ctx = convertContext({ topK: 1 });
    expect(converter?.convert({ best: "cat", all: { cat: 0.7, dog: 0.3 } }, ctx)).toEqual({
      kind: "classification",
      label: "cat",
      score: 0.7,
      classes: [{ label: "cat", score: 0.7 }],
    });
  });

  it("fail clearly on a bad module, a missing file or a name clash", async () => {
    const registry = new PluginRegistry();
    const err = await loadUserPlugins(registry, [fixture("broken.mjs"), fixture("nope.mjs")]).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      expect.stringContaining("converters[0] lacks tasks"),
      expect.stringContaining("cannot load"),
    ]);
    await loadUserPlugins(registry, [fixture("my-plugins.mjs")]);
    const clash = await loadUserPlugins(registry, [fixture("my-plugins.mjs")]).catch((e: unknown) => e);
    expect((clash as ConfigError).problems[0]).toContain("already taken");
  });

  it("an unknown plugin name lists the known ones", () => {
    const r = compileRouteConfig(new PluginRegistry(), {
      model: "m",
      task: "object_detection",
      converter: "nope",
      scaler: "zoom",
      input_size: "640x640",
    });
    const problems = r && !r.ok ? r.problems : [];
    expect(problems.find((p) => p.startsWith("modeltap.converter"))).toContain(
      "known: classification, regression",
    );
    expect(problems.find((p) => p.startsWith("modeltap.scaler"))).toContain(
      "known: stretch, letterbox, center_crop",
    );
  });
});
