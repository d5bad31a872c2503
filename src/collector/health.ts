/**
 * grpc.health.v1.Health for the collector, so Envoy can health-check the cluster it blocks on
 * (normal mode) and stop waiting on a stalled collector. A stopped or wedged process never
 * answers, so Envoy's check times out; during shutdown the collector answers NOT_SERVING, so a check that lands then
 * marks it down rather than timing out.
 */
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { PACKAGE_ROOT } from "../config.js";

export type ServingStatus = "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";

/** Services a health check may name; the empty name means the server as a whole. */
const KNOWN_SERVICES = new Set(["", "envoy.service.ext_proc.v3.ExternalProcessor"]);

export function healthStatus(service: string, serving: boolean): ServingStatus {
  if (!KNOWN_SERVICES.has(service)) return "SERVICE_UNKNOWN";
  return serving ? "SERVING" : "NOT_SERVING";
}

export function loadHealthService(): grpc.ServiceDefinition {
  const def = protoLoader.loadSync("grpc/health/v1/health.proto", {
    includeDirs: [path.join(PACKAGE_ROOT, "proto")],
    keepCase: true,
    enums: String,
    defaults: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    grpc: { health: { v1: { Health: { service: grpc.ServiceDefinition } } } };
  };
  return pkg.grpc.health.v1.Health.service;
}

export function healthHandlers(isServing: () => boolean): grpc.UntypedServiceImplementation {
  return {
    Check: (
      call: grpc.ServerUnaryCall<{ service?: string }, { status: ServingStatus }>,
      callback: grpc.sendUnaryData<{ status: ServingStatus }>,
    ) => callback(null, { status: healthStatus(call.request.service ?? "", isServing()) }),
  };
}
