/**
 * How a client learns its capture id (docs/envoy.md): a real Envoy running the shipped
 * envoy/envoy.yaml (on ports of its own, beside the stack's, with the stack's collector) answers
 * every request with the x-request-id its capture is stored under.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { irisBody } from "../../tools/demo/payloads.js";
import { renderShippedEnvoyConfig } from "../../tools/stack/envoy-config.js";
import { paths } from "../../tools/stack/services.js";
import { config, db, freePort, poll, waitForRows } from "./helpers.js";

const pg = db();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "modeltap-capture-id-"));
let envoy: ChildProcess | undefined;
const ports = { envoy: 0, envoyNormal: 0, envoyBaseline: 0, envoyAdmin: 0 };

beforeAll(async () => {
  for (const k of Object.keys(ports) as Array<keyof typeof ports>) ports[k] = await freePort();
  const file = path.join(dir, "envoy.yaml");
  fs.writeFileSync(file, renderShippedEnvoyConfig({ ...config, ports: { ...config.ports, ...ports } }));
  envoy = spawn(
    path.join(paths(config).venvBin, "envoy"),
    ["-c", file, "--disable-hot-restart", "-l", "error"],
    {
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  await poll("the test's Envoy", () =>
    fetch(`http://127.0.0.1:${ports.envoyAdmin}/ready`).then(
      (r) => (r.ok ? true : undefined),
      () => undefined,
    ),
  );
});

afterAll(async () => {
  envoy?.kill("SIGTERM");
  await pg.end();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function post(port: number, headers: Record<string, string> = {}) {
  const res = await fetch(`http://127.0.0.1:${port}/v2/models/iris/infer`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: irisBody(1),
  });
  await res.arrayBuffer();
  return res;
}

it("answers a request sent without an id with the id its capture is stored under, in both modes", async () => {
  for (const port of [ports.envoy, ports.envoyNormal]) {
    const res = await post(port);
    expect(res.status).toBe(200);
    const id = res.headers.get("x-request-id");
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const rows = await waitForRows(pg, [id!]);
    expect(rows.map((r) => [r.id, r.model])).toEqual([[id, "iris"]]);
  }
});

it("echoes an id the client chose (Envoy here is no edge: it keeps the header as sent)", async () => {
  const mine = randomUUID();
  const res = await post(ports.envoy, { "x-request-id": mine });
  expect(res.headers.get("x-request-id")).toBe(mine);
  expect(await waitForRows(pg, [mine])).toHaveLength(1);
});
