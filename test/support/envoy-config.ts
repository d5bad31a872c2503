/**
 * A minimal Envoy config for e2e tests that run an Envoy of their own: one observability-mode
 * listener with the modeltap ext_proc filter, routes whose modeltap metadata the test chooses, and
 * static clusters for the collector and the upstreams.
 */

export interface TestRoute {
  name: string;
  /** Exact path matched. */
  path: string;
  cluster: string;
  /** filter_metadata.modeltap of the route. */
  modeltap: Record<string, unknown>;
}

export interface TestEnvoy {
  /** Listener name and stat prefix. */
  name: string;
  adminPort: number;
  listenerPort: number;
  collectorPort: number;
  routes: readonly TestRoute[];
  /** Upstream clusters by name: their port on 127.0.0.1. */
  upstreams: Readonly<Record<string, number>>;
}

const cluster = (name: string, port: number) => `
    - name: ${name}
      type: STATIC
      connect_timeout: 1s
      load_assignment:
        cluster_name: ${name}
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${port} } } } }] }]`;

export function observabilityEnvoyConfig(e: TestEnvoy): string {
  // JSON is YAML: each route's metadata is written as JSON.
  const routes = e.routes
    .map(
      (r) => `
                        - name: ${r.name}
                          match: { path: ${JSON.stringify(r.path)} }
                          route: { cluster: ${r.cluster} }
                          metadata: ${JSON.stringify({ filter_metadata: { modeltap: r.modeltap } })}`,
    )
    .join("");
  const upstreams = Object.entries(e.upstreams)
    .map(([name, port]) => cluster(name, port))
    .join("");
  return `admin: { address: { socket_address: { address: 127.0.0.1, port_value: ${e.adminPort} } } }
static_resources:
  listeners:
    - name: ${e.name}
      address: { socket_address: { address: 127.0.0.1, port_value: ${e.listenerPort} } }
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: ${e.name}
                route_config:
                  virtual_hosts:
                    - name: all
                      domains: ["*"]
                      routes:${routes}
                http_filters:
                  - name: modeltap
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor
                      grpc_service: { envoy_grpc: { cluster_name: modeltap_collector } }
                      observability_mode: true
                      failure_mode_allow: true
                      deferred_close_timeout: 30s
                      stat_prefix: "modeltap."
                      processing_mode: { request_header_mode: SEND, response_header_mode: SEND, request_body_mode: STREAMED, response_body_mode: STREAMED, request_trailer_mode: SKIP, response_trailer_mode: SKIP }
                      request_attributes: ["xds.route_metadata", "xds.route_name", "xds.cluster_name", "request.time"]
                      metadata_options: { forwarding_namespaces: { untyped: ["modeltap"] } }
                  - name: envoy.filters.http.router
                    typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
  clusters:
    - name: modeltap_collector
      type: STATIC
      connect_timeout: 0.25s
      typed_extension_protocol_options:
        envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
          "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
          common_http_protocol_options: { max_requests_per_connection: 500 }
          explicit_http_config: { http2_protocol_options: {} }
      load_assignment:
        cluster_name: modeltap_collector
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${e.collectorPort} } } } }] }]${upstreams}
`;
}

/**
 * One listener with one route, a KServe V1 tabular classifier at /v1/models/credit:predict whose
 * every exchange is captured as `model`, served on 127.0.0.1:`upstreamPort`.
 */
export function creditEnvoyConfig(
  name: string,
  model: string,
  ports: { admin: number; listener: number; collector: number; upstream: number },
): string {
  return observabilityEnvoyConfig({
    name,
    adminPort: ports.admin,
    listenerPort: ports.listener,
    collectorPort: ports.collector,
    routes: [
      {
        name: "credit",
        path: "/v1/models/credit:predict",
        cluster: "credit",
        modeltap: {
          model,
          version: "1",
          task: "tabular_classification",
          sample_rate: 1.0,
          protocol: "kserve_v1",
        },
      },
    ],
    upstreams: { credit: ports.upstream },
  });
}
