/** src/collector/health.ts: the gRPC health service Envoy checks the collector with. */
import { expect, it } from "vitest";
import { healthStatus, loadHealthService } from "../../src/collector/health.js";

it("answers for the server and the ext_proc service, and SERVICE_UNKNOWN for anything else", () => {
  expect(healthStatus("", true)).toBe("SERVING");
  expect(healthStatus("envoy.service.ext_proc.v3.ExternalProcessor", true)).toBe("SERVING");
  expect(healthStatus("envoy.service.ext_proc.v3.ExternalProcessor", false)).toBe("NOT_SERVING");
  expect(healthStatus("", false)).toBe("NOT_SERVING");
  expect(healthStatus("some.other.Service", true)).toBe("SERVICE_UNKNOWN");
});

it("loads grpc.health.v1.Health with the Check method Envoy calls", () => {
  const service = loadHealthService();
  expect(Object.keys(service)).toEqual(["Check"]);
  expect(service.Check!.path).toBe("/grpc.health.v1.Health/Check");
});
