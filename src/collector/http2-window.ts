/**
 * The collector's HTTP/2 receive windows.
 *
 * Node's HTTP/2 grants a peer 64 KiB per stream and 64 KiB per connection, and the collector
 * acknowledges data (WINDOW_UPDATE) only when its event loop has read it. Envoy multiplexes
 * hundreds of ext_proc streams on one connection, so with 64 KiB it may send one exchange's worth
 * of messages for a few dozen streams, then waits for the collector. Under load Envoy buffered
 * 13 MB of ext_proc messages (`cluster.modeltap_collector.http2.pending_send_bytes`) and captures
 * arrived 15-20 s late, past `deferred_close_timeout` for some: lost, while the collector sat
 * half idle.
 *
 * grpc-js has no server option for these windows (grpc/grpc-node#3058 adds
 * `grpc-node.flow_control_window` on the server; open). Until it does, this sets Node's own
 * settings on the server grpc-js creates: the per-stream window in the SETTINGS grpc-js passes to
 * `http2.createServer`, the connection window on every session. Both depend on grpc-js internals,
 * checked here: a grpc-js that changes them fails the collector's start with a clear error (and
 * test/unit/collector-http2-window.test.ts), rather than silently capping capture again.
 */
import type { EventEmitter } from "node:events";
import type { Http2Session, Settings } from "node:http2";
import type * as grpc from "@grpc/grpc-js";
import { ModeltapError } from "../core/errors.js";

/** The smallest window HTTP/2 allows a peer to start with (RFC 9113 §6.9.2). */
export const HTTP2_DEFAULT_WINDOW = 65_535;
/** The largest window HTTP/2 allows (2^31 - 1). */
export const HTTP2_MAX_WINDOW = 2 ** 31 - 1;

interface GrpcServerInternals {
  commonServerOptions?: { settings?: Settings };
  http2Servers?: Map<EventEmitter, unknown>;
}

function internalsChanged(what: string): ModeltapError {
  return new ModeltapError(
    "DEPENDENCY_CHANGED",
    `cannot set the collector's HTTP/2 window: @grpc/grpc-js no longer has ${what} (see src/collector/http2-window.ts)`,
  );
}

/**
 * Call before `bindAsync`: new streams start with `bytes` of window. Returns the step to call
 * after the bind, which gives every new connection the same window.
 */
export function raiseReceiveWindows(server: grpc.Server, bytes: number): () => void {
  if (!Number.isInteger(bytes) || bytes < HTTP2_DEFAULT_WINDOW || bytes > HTTP2_MAX_WINDOW) {
    throw new ModeltapError(
      "CONFIG_INVALID",
      `HTTP/2 window must be an integer in [${HTTP2_DEFAULT_WINDOW}, ${HTTP2_MAX_WINDOW}], got ${bytes}`,
    );
  }
  const internals = server as unknown as GrpcServerInternals;
  const options = internals.commonServerOptions;
  if (typeof options !== "object" || options === null) throw internalsChanged("commonServerOptions");
  options.settings = { ...options.settings, initialWindowSize: bytes };
  return () => {
    const servers = internals.http2Servers;
    if (!(servers instanceof Map) || servers.size === 0) throw internalsChanged("http2Servers");
    for (const http2Server of servers.keys()) {
      http2Server.on("session", (session: Http2Session) => session.setLocalWindowSize(bytes));
    }
  };
}
