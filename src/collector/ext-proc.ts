/**
 * Envoy ext_proc wire types (modeltap's own minimal subset in proto/envoy/service/ext_proc/v3)
 * and the conversions the stream owner needs. This is the only file that knows their shape.
 */
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { PACKAGE_ROOT } from "../config.js";
import type { HeaderList } from "../core/record.js";

interface ProtoValue {
  kind?: string;
  stringValue?: string;
  numberValue?: number;
  boolValue?: boolean;
  structValue?: ProtoStruct;
  listValue?: { values?: ProtoValue[] };
}
export interface ProtoStruct {
  fields?: Record<string, ProtoValue>;
}

interface HeaderMap {
  headers?: Array<{ key: string; value?: string; raw_value?: Buffer }>;
}

export interface HttpHeaders {
  headers?: HeaderMap;
  end_of_stream?: boolean;
}
export interface HttpBody {
  body?: Buffer;
  end_of_stream?: boolean;
}

export type RequestKind =
  | "request_headers"
  | "response_headers"
  | "request_body"
  | "response_body"
  | "request_trailers"
  | "response_trailers";

export interface ProcessingRequest {
  request?: RequestKind;
  request_headers?: HttpHeaders;
  response_headers?: HttpHeaders;
  request_body?: HttpBody;
  response_body?: HttpBody;
  metadata_context?: { filter_metadata?: Record<string, ProtoStruct> };
  attributes?: Record<string, ProtoStruct>;
  observability_mode?: boolean;
}

type BodySendMode = "NONE" | "STREAMED";
type HeaderSendMode = "DEFAULT" | "SEND" | "SKIP";
export interface ProcessingResponse {
  request_headers?: object;
  response_headers?: object;
  request_body?: object;
  response_body?: object;
  request_trailers?: object;
  response_trailers?: object;
  mode_override?: {
    request_body_mode?: BodySendMode;
    response_body_mode?: BodySendMode;
    response_header_mode?: HeaderSendMode;
    request_trailer_mode?: HeaderSendMode;
    response_trailer_mode?: HeaderSendMode;
  };
}

export type ProcessCall = grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>;

/** Key Envoy uses for the attributes the ext_proc filter itself collects. */
export const EXT_PROC_ATTRIBUTES = "envoy.filters.http.ext_proc";

export function loadExternalProcessorService(): grpc.ServiceDefinition {
  const def = protoLoader.loadSync("envoy/service/ext_proc/v3/external_processor.proto", {
    includeDirs: [path.join(PACKAGE_ROOT, "proto")],
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: false,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    envoy: { service: { ext_proc: { v3: { ExternalProcessor: { service: grpc.ServiceDefinition } } } } };
  };
  return pkg.envoy.service.ext_proc.v3.ExternalProcessor.service;
}

export function toHeaderList(map: HeaderMap | undefined): HeaderList {
  const out: HeaderList = [];
  for (const h of map?.headers ?? []) {
    out.push({ name: h.key, value: h.raw_value ? h.raw_value.toString("latin1") : (h.value ?? "") });
  }
  return out;
}

/**
 * The x-request-id header's value, as its bytes and as text (Latin-1, one char per byte), if present
 * and not empty. Repeated, its values are joined with "," as Envoy's header match input joins them.
 */
export function requestIdHeader(map: HeaderMap | undefined): { bytes: Uint8Array; text: string } | undefined {
  const parts: Buffer[] = [];
  const texts: string[] = [];
  for (const h of map?.headers ?? []) {
    if (h.key !== "x-request-id") continue;
    const raw = h.raw_value ?? Buffer.from(h.value ?? "", "utf8");
    parts.push(raw);
    texts.push(h.raw_value ? raw.toString("latin1") : (h.value ?? ""));
  }
  if (parts.length === 0) return undefined;
  const bytes =
    parts.length === 1 ? parts[0]! : Buffer.concat(parts.flatMap((p, k) => (k === 0 ? [p] : [COMMA, p])));
  return bytes.length > 0 ? { bytes, text: texts.join(",") } : undefined;
}

const COMMA = Buffer.from(",");

function valueToJson(v: ProtoValue): unknown {
  switch (v.kind) {
    case "stringValue":
      return v.stringValue;
    case "numberValue":
      return v.numberValue;
    case "boolValue":
      return v.boolValue;
    case "structValue":
      return structToJson(v.structValue);
    case "listValue":
      return (v.listValue?.values ?? []).map(valueToJson);
    default:
      return null;
  }
}

export function structToJson(s: ProtoStruct | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s?.fields ?? {})) out[k] = valueToJson(v);
  return out;
}

/** A string-valued attribute collected by the filter (request_attributes), if present. */
export function attribute(req: ProcessingRequest, name: string): string | undefined {
  const v = req.attributes?.[EXT_PROC_ATTRIBUTES]?.fields?.[name];
  return v?.kind === "stringValue" ? v.stringValue : undefined;
}
