/**
 * src/collector/http2-window.ts on a real grpc-js server and a real HTTP/2 client: the window the
 * server grants per stream (SETTINGS) and per connection (WINDOW_UPDATE on stream 0). This test
 * also fails when a grpc-js upgrade moves the internals the workaround relies on.
 */
import http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { afterEach, expect, it } from "vitest";
import { raiseReceiveWindows } from "../../src/collector/http2-window.js";
import { ModeltapError } from "../../src/core/errors.js";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function windowsGranted(raise?: number): Promise<{ stream: number; connection: number }> {
  const server = new grpc.Server();
  const afterBind = raise === undefined ? () => undefined : raiseReceiveWindows(server, raise);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  afterBind();
  cleanups.push(() => server.forceShutdown());
  const client = http2.connect(`http://127.0.0.1:${port}`);
  cleanups.push(() => client.destroy());
  const settings = await new Promise<http2.Settings>((resolve) => client.once("remoteSettings", resolve));
  // The connection window arrives as a WINDOW_UPDATE just after the SETTINGS; a ping round trip
  // later it has been read.
  await new Promise<void>((resolve, reject) => client.ping((err) => (err ? reject(err) : resolve())));
  return { stream: settings.initialWindowSize ?? 65_535, connection: client.state.remoteWindowSize ?? 0 };
}

it("grants Node's 64 KiB without it, and the configured window per stream and per connection with it", async () => {
  expect(await windowsGranted()).toEqual({ stream: 65_535, connection: 65_535 });
  expect(await windowsGranted(4 * 1024 * 1024)).toEqual({
    stream: 4 * 1024 * 1024,
    connection: 4 * 1024 * 1024,
  });
});

it("refuses a window HTTP/2 does not allow", () => {
  for (const bad of [65_534, 2 ** 31, 1.5]) {
    expect(() => raiseReceiveWindows(new grpc.Server(), bad)).toThrow(/HTTP\/2 window must be an integer/);
  }
});

it("fails with DEPENDENCY_CHANGED, naming what is missing, on a server without the internals", () => {
  const notGrpcJs = {} as unknown as grpc.Server;
  let caught: unknown;
  try {
    raiseReceiveWindows(notGrpcJs, 1024 * 1024);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ModeltapError);
  expect((caught as ModeltapError).code).toBe("DEPENDENCY_CHANGED");
  expect((caught as ModeltapError).message).toMatch(/commonServerOptions/);
});
