import { crc32 } from 'node:zlib';

/**
 * The consensus WAL's on-disk format (also described in README.md).
 *
 * A segment file starts with a 12-byte header: the ASCII magic `SYNODWAL`
 * followed by the format version as a big-endian u32 (currently 1). Then come
 * frames, back to back:
 *
 *   u32 BE  body length (>= 1)
 *   u32 BE  CRC-32 (ISO-HDLC, as zlib.crc32) of the body
 *   body:   u8 record type, then the payload
 *
 * Record types: 1 = data (payload: the consensus engine's opaque bytes),
 * 2 = end of height (payload: the height as a big-endian u64, 8 bytes).
 */

export const WAL_MAGIC = new TextEncoder().encode('SYNODWAL');
export const WAL_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 12;
export const FRAME_HEADER_BYTES = 8;

export const RECORD_DATA = 1;
export const RECORD_END_HEIGHT = 2;

export type WalFrame =
  | { readonly type: 'data'; readonly data: Uint8Array; readonly offset: number; readonly end: number }
  | { readonly type: 'endHeight'; readonly height: number; readonly offset: number; readonly end: number };

export function segmentHeader(): Uint8Array {
  const out = new Uint8Array(SEGMENT_HEADER_BYTES);
  out.set(WAL_MAGIC, 0);
  new DataView(out.buffer).setUint32(8, WAL_VERSION);
  return out;
}

/** What is wrong with a segment header, or undefined when it is valid. */
export function headerProblem(bytes: Uint8Array): string | undefined {
  if (bytes.length < SEGMENT_HEADER_BYTES) return 'the segment header is incomplete';
  for (let i = 0; i < WAL_MAGIC.length; i++) {
    if (bytes[i] !== WAL_MAGIC[i]) return 'the file does not start with the SYNODWAL magic';
  }
  const version = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8);
  if (version !== WAL_VERSION)
    return `unsupported WAL format version ${version} (this node reads ${WAL_VERSION})`;
  return undefined;
}

/** True when `bytes` could be the start of a header that a crash interrupted. */
export function isTornHeader(bytes: Uint8Array): boolean {
  if (bytes.length >= SEGMENT_HEADER_BYTES) return false;
  const header = segmentHeader();
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== header[i]) return false;
  return true;
}

function frame(type: number, payload: Uint8Array): Uint8Array {
  const bodyLength = 1 + payload.length;
  const out = new Uint8Array(FRAME_HEADER_BYTES + bodyLength);
  const view = new DataView(out.buffer);
  out[FRAME_HEADER_BYTES] = type;
  out.set(payload, FRAME_HEADER_BYTES + 1);
  view.setUint32(0, bodyLength);
  view.setUint32(4, crc32(out.subarray(FRAME_HEADER_BYTES)));
  return out;
}

export function encodeDataFrame(data: Uint8Array): Uint8Array {
  return frame(RECORD_DATA, data);
}

export function encodeEndHeightFrame(height: number): Uint8Array {
  const payload = new Uint8Array(8);
  new DataView(payload.buffer).setBigUint64(0, BigInt(height));
  return frame(RECORD_END_HEIGHT, payload);
}

export type FrameResult = { readonly frame: WalFrame } | { readonly problem: string };

/** Decodes the frame at `offset`, or says why there is no valid frame there. */
export function readFrameAt(buf: Uint8Array, offset: number, bodyBytesMax: number): FrameResult {
  if (offset + FRAME_HEADER_BYTES > buf.length) return { problem: 'incomplete frame header' };
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const bodyLength = view.getUint32(offset);
  if (bodyLength < 1 || bodyLength > bodyBytesMax) return { problem: `invalid record length ${bodyLength}` };
  const bodyStart = offset + FRAME_HEADER_BYTES;
  const end = bodyStart + bodyLength;
  if (end > buf.length) return { problem: `record of ${bodyLength} bytes runs past the end of the file` };
  const body = buf.subarray(bodyStart, end);
  if (crc32(body) !== view.getUint32(offset + 4)) return { problem: 'checksum mismatch' };
  const type = body[0];
  if (type === RECORD_DATA) return { frame: { type: 'data', data: body.subarray(1), offset, end } };
  if (type === RECORD_END_HEIGHT) {
    if (bodyLength !== 9) return { problem: `end-of-height record of ${bodyLength} bytes` };
    const height = view.getBigUint64(bodyStart + 1);
    if (height > BigInt(Number.MAX_SAFE_INTEGER))
      return { problem: 'end-of-height record height out of range' };
    return { frame: { type: 'endHeight', height: Number(height), offset, end } };
  }
  return { problem: `unknown record type ${type}` };
}

export interface SegmentScan {
  readonly frames: WalFrame[];
  /** Offset just past the last valid frame. */
  readonly validEnd: number;
  /** The first invalid frame, if any. */
  readonly problem?: {
    readonly offset: number;
    readonly reason: string;
    /** Offset of a valid frame after the problem (so the damage is not a torn tail), if one exists. */
    readonly nextValidOffset: number | undefined;
  };
}

/**
 * Reads the frames of a whole segment (header included). On the first invalid
 * frame it stops and searches the rest of the file for any valid frame: none
 * means a torn tail (safe to truncate at `problem.offset`), one means corruption
 * in the middle.
 */
export function scanSegment(buf: Uint8Array, bodyBytesMax: number): SegmentScan {
  const frames: WalFrame[] = [];
  let offset = SEGMENT_HEADER_BYTES;
  while (offset < buf.length) {
    const result = readFrameAt(buf, offset, bodyBytesMax);
    if ('problem' in result) {
      let nextValidOffset: number | undefined;
      for (let at = offset + 1; at + FRAME_HEADER_BYTES < buf.length; at++) {
        if ('frame' in readFrameAt(buf, at, bodyBytesMax)) {
          nextValidOffset = at;
          break;
        }
      }
      return { frames, validEnd: offset, problem: { offset, reason: result.problem, nextValidOffset } };
    }
    frames.push(result.frame);
    offset = result.frame.end;
  }
  return { frames, validEnd: offset };
}
