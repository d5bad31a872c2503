/**
 * TLS and mTLS between Envoy and the collector, with real processes: certificates made with openssl,
 * a collector requiring client certificates, and a real Envoy with two listeners: one whose collector
 * cluster presents the client certificate (captured), one without it (refused by the collector;
 * traffic passes uncaptured through failure_mode_allow).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/config.js";
import { irisBody } from "../../tools/demo/payloads.js";
import { send } from "../support/http.js";
import { paths } from "../../tools/stack/services.js";
import { productEnv } from "../../tools/stack/settings.js";
import { config, db, freePort, until, waitForRows } from "./helpers.js";

const pg = db();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "modeltap-tls-"));
const children: ChildProcess[] = [];
const ports = { grpc: 0, metrics: 0, withCert: 0, withoutCert: 0, admin: 0 };
const f = (name: string) => path.join(dir, name);

function openssl(...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
}

/** A CA, a server certificate for 127.0.0.1, and a client certificate, all signed by the CA. */
function makeCertificates(): void {
  openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=modeltap-test-ca",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
  );
  fs.writeFileSync(f("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  for (const who of ["server", "client"]) {
    openssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      `/CN=modeltap-${who}`,
      "-keyout",
      `${who}.key`,
      "-out",
      `${who}.csr`,
    );
    openssl(
      "x509",
      "-req",
      "-in",
      `${who}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "1",
      "-out",
      `${who}.pem`,
      ...(who === "server" ? ["-extfile", "server.ext"] : []),
    );
  }
}

function envoyConfig(): string {
  const tls = (withCert: boolean) => `
      transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
          sni: localhost
          common_tls_context:
            alpn_protocols: ["h2"]
            validation_context: { trusted_ca: { filename: ${f("ca.pem")} } }${
              withCert
                ? `
            tls_certificates:
              - certificate_chain: { filename: ${f("client.pem")} }
                private_key: { filename: ${f("client.key")} }`
                : ""
            }`;
  const cluster = (name: string, withCert: boolean) => `
    - name: ${name}
      type: STATIC
      connect_timeout: 0.5s
      typed_extension_protocol_options:
        envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
          "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
          common_http_protocol_options: { max_requests_per_connection: 500 }
          explicit_http_config: { http2_protocol_options: {} }${tls(withCert)}
      load_assignment:
        cluster_name: ${name}
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${ports.grpc} } } } }] }]`;
  const listener = (name: string, port: number, cluster: string) => `
    - name: ${name}
      address: { socket_address: { address: 127.0.0.1, port_value: ${port} } }
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: ${name}
                route_config:
                  virtual_hosts:
                    - name: all
                      domains: ["*"]
                      routes:
                        - match: { prefix: "/" }
                          route: { cluster: demo }
                          metadata: { filter_metadata: { modeltap: { model: iris-tls, version: "1", task: tabular_classification } } }
                http_filters:
                  - name: modeltap
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor
                      grpc_service: { envoy_grpc: { cluster_name: ${cluster} } }
                      observability_mode: true
                      failure_mode_allow: true
                      stat_prefix: "modeltap."
                      processing_mode: { request_header_mode: SEND, response_header_mode: SEND, request_body_mode: STREAMED, response_body_mode: STREAMED, request_trailer_mode: SKIP, response_trailer_mode: SKIP }
                      request_attributes: ["xds.route_metadata", "xds.route_name", "xds.cluster_name", "request.time"]
                  - name: envoy.filters.http.router
                    typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }`;
  return `admin: { address: { socket_address: { address: 127.0.0.1, port_value: ${ports.admin} } } }
static_resources:
  listeners:${listener("with_cert", ports.withCert, "collector_mtls")}${listener("without_cert", ports.withoutCert, "collector_tls_no_cert")}
  clusters:${cluster("collector_mtls", true)}${cluster("collector_tls_no_cert", false)}
    - name: demo
      type: STATIC
      load_assignment:
        cluster_name: demo
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${config.ports.demo} } } } }] }]
`;
}

beforeAll(async () => {
  makeCertificates();
  for (const k of Object.keys(ports) as Array<keyof typeof ports>) ports[k] = await freePort();
  const collector = spawn(
    process.execPath,
    [path.join(PACKAGE_ROOT, "dist", "cli", "main.js"), "collector"],
    {
      env: {
        // A product process: the stack's own settings resolved into the product's.
        ...productEnv(process.env),
        MODELTAP_COLLECTOR_PORT: String(ports.grpc),
        MODELTAP_COLLECTOR_METRICS_PORT: String(ports.metrics),
        MODELTAP_COLLECTOR_TLS_CERT: f("server.pem"),
        MODELTAP_COLLECTOR_TLS_KEY: f("server.key"),
        MODELTAP_COLLECTOR_TLS_CLIENT_CA: f("ca.pem"),
        MODELTAP_LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  children.push(collector);
  fs.writeFileSync(f("envoy.yaml"), envoyConfig());
  const envoy = spawn(
    path.join(paths(config).venvBin, "envoy"),
    ["-c", f("envoy.yaml"), "--disable-hot-restart", "-l", "error"],
    {
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  children.push(envoy);
  await until("the TLS collector", async () => (await fetch(`http://127.0.0.1:${ports.metrics}/readyz`)).ok);
  await until("Envoy", async () => (await fetch(`http://127.0.0.1:${ports.admin}/ready`)).ok);
});

afterAll(async () => {
  for (const c of children) c.kill("SIGTERM");
  await pg.end();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function stat(name: string): Promise<number> {
  const text = await (
    await fetch(`http://127.0.0.1:${ports.admin}/stats?filter=${encodeURIComponent(name)}`)
  ).text();
  return Number(/: (\d+)/.exec(text)?.[1] ?? 0);
}

it("captures over mTLS when Envoy presents its client certificate", async () => {
  const sent = await Promise.all(
    Array.from({ length: 5 }, (_, i) =>
      send(`http://127.0.0.1:${ports.withCert}/v2/models/iris/infer`, irisBody(i), { id: randomUUID() }),
    ),
  );
  expect(sent.map((s) => s.status)).toEqual([200, 200, 200, 200, 200]);
  const rows = await waitForRows(
    pg,
    sent.map((s) => s.id),
  );
  expect(rows.map((r) => r.model)).toEqual(Array(5).fill("iris-tls"));
});

it("refuses an Envoy without a client certificate: traffic still flows, nothing is captured", async () => {
  const sent = await Promise.all(
    Array.from({ length: 5 }, (_, i) =>
      send(`http://127.0.0.1:${ports.withoutCert}/v2/models/iris/infer`, irisBody(i), { id: randomUUID() }),
    ),
  );
  expect(sent.map((s) => s.status)).toEqual([200, 200, 200, 200, 200]);
  // Observability mode never waits on the collector, so the refusal shows on the collector
  // cluster (TLS handshake errors, the ext_proc streams failed), not in failure_mode_allowed.
  await until("the refused handshakes to be counted", async () => {
    return (await stat("cluster.collector_tls_no_cert.ssl.connection_error")) > 0;
  });
  expect(await stat("cluster.collector_tls_no_cert.upstream_rq_5xx")).toBeGreaterThanOrEqual(5);
  expect(
    await waitForRows(
      pg,
      sent.map((s) => s.id),
      1,
      3000,
    ),
  ).toEqual([]);
});
