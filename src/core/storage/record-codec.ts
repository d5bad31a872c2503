/**
 * Binary protobuf codec for modeltap.v1.CaptureRecord, written against google-protobuf's wire
 * primitives so the hot path does no reflection. Field numbers must match
 * proto/modeltap/v1/capture.proto; test/unit/record-codec.test.ts decodes our bytes with a
 * reflection codec loaded from that .proto file to keep the two in step.
 */
import { BinaryReader, BinaryWriter } from "google-protobuf";
import { RecordDecodeError } from "../errors.js";
import { emptyRecord, type CaptureRecord, type CapturedBody, type InputImage } from "../record.js";

function writeBody(b: CapturedBody, w: BinaryWriter): void {
  if (b.contentType) w.writeString(1, b.contentType);
  if (b.contentEncoding) w.writeString(2, b.contentEncoding);
  if (b.wireSizeBytes) w.writeUint64(3, b.wireSizeBytes);
  if (b.truncated) w.writeBool(4, true);
  if (b.data.byteLength) w.writeBytes(5, b.data);
  if (b.sizeBytes) w.writeUint64(6, b.sizeBytes);
  if (b.decoded) w.writeBool(7, true);
  if (b.decodeError) w.writeString(8, b.decodeError);
  if (b.objectRef) w.writeString(9, b.objectRef);
  for (const h of b.headers) {
    w.writeMessage(10, h, (hv: { name: string; value: string }, hw: BinaryWriter) => {
      hw.writeString(1, hv.name);
      hw.writeString(2, hv.value);
    });
  }
}

function writeInputImage(img: InputImage, w: BinaryWriter): void {
  if (img.instance) w.writeUint32(1, img.instance);
  if (img.contentType) w.writeString(2, img.contentType);
  if (img.data.byteLength) w.writeBytes(3, img.data);
  if (img.objectRef) w.writeString(4, img.objectRef);
  if (img.sizeBytes) w.writeUint64(5, img.sizeBytes);
}

export function encodeRecord(r: CaptureRecord): Uint8Array {
  const w = new BinaryWriter();
  w.writeString(1, r.id);
  w.writeString(2, r.model);
  w.writeString(3, r.version);
  w.writeString(4, r.task);
  if (r.route) w.writeString(5, r.route);
  if (r.cluster) w.writeString(6, r.cluster);
  w.writeString(7, r.mode);
  if (r.method) w.writeString(8, r.method);
  if (r.path) w.writeString(9, r.path);
  if (r.authority) w.writeString(10, r.authority);
  w.writeInt64(11, r.startedAtUs);
  if (r.ttfbUs) w.writeInt64(12, r.ttfbUs);
  if (r.durationUs) w.writeInt64(13, r.durationUs);
  if (r.statusCode) w.writeUint32(14, r.statusCode);
  if (r.complete) w.writeBool(15, true);
  w.writeMessage(16, r.request, writeBody);
  w.writeMessage(17, r.response, writeBody);
  w.writeDouble(18, r.sampleRate);
  w.writeUint32(19, r.schemaVersion);
  if (r.upstreamUs !== null) w.writeInt64(20, r.upstreamUs);
  if (r.analysisJson.byteLength) w.writeBytes(21, r.analysisJson);
  if (r.parseError) w.writeString(22, r.parseError);
  if (r.labelRate) w.writeDouble(23, r.labelRate);
  for (const label of r.labelSet) w.writeString(24, label);
  for (const img of r.inputImages) w.writeMessage(25, img, writeInputImage);
  if (r.requestIsImage) w.writeBool(26, true);
  if (r.requestId) w.writeString(27, r.requestId);
  w.writeString(28, r.sampledBy);
  if (r.analysisRef) w.writeString(29, r.analysisRef);
  return w.getResultBuffer();
}

function readBody(b: CapturedBody, r: BinaryReader): void {
  while (r.nextField()) {
    if (r.isEndGroup()) break;
    switch (r.getFieldNumber()) {
      case 1:
        b.contentType = r.readString();
        break;
      case 2:
        b.contentEncoding = r.readString();
        break;
      case 3:
        b.wireSizeBytes = r.readUint64();
        break;
      case 4:
        b.truncated = r.readBool();
        break;
      case 5:
        b.data = r.readBytes();
        break;
      case 6:
        b.sizeBytes = r.readUint64();
        break;
      case 7:
        b.decoded = r.readBool();
        break;
      case 8:
        b.decodeError = r.readString();
        break;
      case 9:
        b.objectRef = r.readString();
        break;
      case 10: {
        const h = { name: "", value: "" };
        r.readMessage(h, (hv: { name: string; value: string }, hr: BinaryReader) => {
          while (hr.nextField()) {
            if (hr.isEndGroup()) break;
            if (hr.getFieldNumber() === 1) hv.name = hr.readString();
            else if (hr.getFieldNumber() === 2) hv.value = hr.readString();
            else hr.skipField();
          }
        });
        b.headers.push(h);
        break;
      }
      default:
        r.skipField();
    }
  }
}

function readInputImage(img: InputImage, r: BinaryReader): void {
  while (r.nextField()) {
    if (r.isEndGroup()) break;
    switch (r.getFieldNumber()) {
      case 1:
        img.instance = r.readUint32();
        break;
      case 2:
        img.contentType = r.readString();
        break;
      case 3:
        img.data = r.readBytes();
        break;
      case 4:
        img.objectRef = r.readString();
        break;
      case 5:
        img.sizeBytes = r.readUint64();
        break;
      default:
        r.skipField();
    }
  }
}

export function decodeRecord(bytes: Uint8Array): CaptureRecord {
  const rec = emptyRecord();
  try {
    const r = new BinaryReader(bytes);
    while (r.nextField()) {
      if (r.isEndGroup()) break;
      switch (r.getFieldNumber()) {
        case 1:
          rec.id = r.readString();
          break;
        case 2:
          rec.model = r.readString();
          break;
        case 3:
          rec.version = r.readString();
          break;
        case 4:
          rec.task = r.readString();
          break;
        case 5:
          rec.route = r.readString();
          break;
        case 6:
          rec.cluster = r.readString();
          break;
        case 7:
          rec.mode = r.readString() === "normal" ? "normal" : "observability";
          break;
        case 8:
          rec.method = r.readString();
          break;
        case 9:
          rec.path = r.readString();
          break;
        case 10:
          rec.authority = r.readString();
          break;
        case 11:
          rec.startedAtUs = r.readInt64();
          break;
        case 12:
          rec.ttfbUs = r.readInt64();
          break;
        case 13:
          rec.durationUs = r.readInt64();
          break;
        case 14:
          rec.statusCode = r.readUint32();
          break;
        case 15:
          rec.complete = r.readBool();
          break;
        case 16:
          r.readMessage(rec.request, readBody);
          break;
        case 17:
          r.readMessage(rec.response, readBody);
          break;
        case 18:
          rec.sampleRate = r.readDouble();
          break;
        case 19:
          rec.schemaVersion = r.readUint32();
          break;
        case 20:
          rec.upstreamUs = r.readInt64();
          break;
        case 21:
          rec.analysisJson = r.readBytes();
          break;
        case 22:
          rec.parseError = r.readString();
          break;
        case 23:
          rec.labelRate = r.readDouble();
          break;
        case 24:
          rec.labelSet.push(r.readString());
          break;
        case 25: {
          const img: InputImage = {
            instance: 0,
            contentType: "",
            data: new Uint8Array(0),
            objectRef: "",
            sizeBytes: 0,
          };
          r.readMessage(img, readInputImage);
          rec.inputImages.push(img);
          break;
        }
        case 26:
          rec.requestIsImage = r.readBool();
          break;
        case 27:
          rec.requestId = r.readString();
          break;
        case 28:
          rec.sampledBy = r.readString() === "random" ? "random" : "request_id";
          break;
        case 29:
          rec.analysisRef = r.readString();
          break;
        default:
          r.skipField();
      }
    }
  } catch (err) {
    throw new RecordDecodeError(`capture record is not valid protobuf: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!rec.id || !rec.model) throw new RecordDecodeError("capture record lacks id or model");
  // Schema 1 (a collector from before capture ids): its id was the x-request-id.
  if (rec.schemaVersion < 2 && !rec.requestId) rec.requestId = rec.id;
  return rec;
}
