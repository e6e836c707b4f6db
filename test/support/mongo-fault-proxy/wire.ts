/**
 * MongoDB wire protocol, as much as the fault proxy needs: message framing (the 16-byte header), reading a
 * request's command (OP_MSG body and document sequences, legacy OP_QUERY on `db.$cmd`, OP_COMPRESSED with the
 * noop or zlib compressor) and building the few replies the proxy answers itself (OP_MSG, OP_REPLY).
 * Bytes the proxy forwards are never re-encoded: it reads messages to decide, then forwards the original buffer.
 * Reference: https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/
 */
import { inflateSync } from 'node:zlib';
import { BSON, type Document } from 'mongodb';

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_COMPRESSED = 2012;
export const OP_MSG = 2013;

export const HEADER_BYTES = 16;
/**
 * Largest message the proxy accepts. Servers announce maxMessageSizeBytes = 48,000,000; anything far above it
 * is a framing error (a desynchronised stream), not a message, and must not make the proxy buffer gigabytes.
 */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** OP_MSG flagBits. */
export const MSG_CHECKSUM_PRESENT = 1 << 0;
export const MSG_MORE_TO_COME = 1 << 1;
export const MSG_EXHAUST_ALLOWED = 1 << 16;

/** The stream cannot be read as MongoDB messages (bad length, truncated section, unknown section kind). */
export class WireProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireProtocolError';
  }
}

/** One whole message off the wire, with its header fields. `bytes` is the exact buffer to forward. */
export interface Frame {
  bytes: Buffer;
  requestId: number;
  responseTo: number;
  opCode: number;
}

/**
 * Cuts a TCP byte stream into whole messages. Chunks are kept as a list and joined only once a whole message
 * is there, so a reply of several MB arriving in 64 KB chunks is copied once, not once per chunk.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Length of the message being received, once its first 4 bytes are in. */
  private expected: number | undefined;

  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Frame[] = [];
    while (this.buffered >= 4) {
      const length = (this.expected ??= this.peekLength());
      if (length < HEADER_BYTES || length > MAX_MESSAGE_BYTES) {
        throw new WireProtocolError(`message length ${length} is outside ${HEADER_BYTES}..${MAX_MESSAGE_BYTES} bytes`);
      }
      if (this.buffered < length) break;
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
      // Copy the message out so the frame does not pin the rest of a large joined buffer.
      const bytes = Buffer.from(all.subarray(0, length));
      const rest = all.subarray(length);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
      this.expected = undefined;
      frames.push({
        bytes,
        requestId: bytes.readInt32LE(4),
        responseTo: bytes.readInt32LE(8),
        opCode: bytes.readInt32LE(12),
      });
    }
    return frames;
  }

  /** Bytes received that do not yet form a whole message. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** The int32 at the start of the buffered bytes; reads at most the first 4 chunks (tiny chunks are possible). */
  private peekLength(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readInt32LE(0);
    const head = Buffer.alloc(4);
    let filled = 0;
    for (const c of this.chunks) {
      filled += c.copy(head, filled, 0, Math.min(c.length, 4 - filled));
      if (filled === 4) break;
    }
    return head.readInt32LE(0);
  }
}

/** What the proxy knows of a request: enough to match a rule by command, database and collection. */
export interface RequestInfo {
  opCode: number;
  /** The opcode of the command itself: OP_MSG or OP_QUERY, also when it came inside an OP_COMPRESSED. */
  commandOpCode: number;
  requestId: number;
  /** The command name as sent (`find`, `insert`, `isMaster`, ...); undefined for what is not a command. */
  command: string | undefined;
  database: string | undefined;
  collection: string | undefined;
  /** The command body; payload arrays (documents, updates, deletes, pipeline) left as raw BSON, unparsed. */
  body: Document | undefined;
  /** Identifiers of OP_MSG kind-1 sections (document sequences), e.g. `documents`. */
  sequences: string[];
  /** OP_MSG moreToCome on a request: the client expects no reply (unacknowledged write). */
  moreToCome: boolean;
  /** OP_MSG exhaustAllowed: the server may stream several replies to this one request. */
  exhaustAllowed: boolean;
  /** Arrived as OP_COMPRESSED (decoded for matching; forwarded as it came). */
  compressed: boolean;
  /** The proxy could not read the command (legacy opcode, snappy or zstd compression): it is forwarded blind. */
  opaque: boolean;
}

/**
 * Arrays that can hold megabytes of user documents: returned as raw BSON (`fieldsAsRaw`) so matching a rule
 * never parses the payload.
 */
const PAYLOAD_FIELDS = { documents: true, updates: true, deletes: true, pipeline: true, ops: true, nsInfo: true };

const decodeBody = (bytes: Buffer): Document =>
  BSON.deserialize(bytes, { fieldsAsRaw: PAYLOAD_FIELDS, validation: { utf8: false } });

function readCString(buf: Buffer, at: number, end: number): { value: string; next: number } {
  const zero = buf.indexOf(0, at);
  if (zero < 0 || zero >= end) throw new WireProtocolError('unterminated cstring');
  return { value: buf.toString('utf8', at, zero), next: zero + 1 };
}

function readDocumentBytes(buf: Buffer, at: number, end: number): Buffer {
  if (at + 4 > end) throw new WireProtocolError('truncated BSON document');
  const size = buf.readInt32LE(at);
  if (size < 5 || at + size > end) throw new WireProtocolError(`BSON document of ${size} bytes overruns its message`);
  return buf.subarray(at, at + size);
}

/** Collection a command works on: the string value of its first field, or `collection` for getMore. */
function collectionOf(command: string, body: Document): string | undefined {
  const value = command.toLowerCase() === 'getmore' ? body.collection : body[command];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function commandInfo(
  frame: Frame,
  body: Document | undefined,
  database: string | undefined,
  extra: Partial<RequestInfo>,
): RequestInfo {
  const command = body ? Object.keys(body)[0] : undefined;
  return {
    opCode: frame.opCode,
    commandOpCode: frame.opCode,
    requestId: frame.requestId,
    command,
    database,
    collection: command && body ? collectionOf(command, body) : undefined,
    body,
    sequences: [],
    moreToCome: false,
    exhaustAllowed: false,
    compressed: false,
    opaque: false,
    ...extra,
  };
}

function parseOpMsg(frame: Frame): RequestInfo {
  const buf = frame.bytes;
  if (buf.length < HEADER_BYTES + 5) throw new WireProtocolError('OP_MSG too short');
  const flagBits = buf.readUInt32LE(16);
  const end = buf.length - (flagBits & MSG_CHECKSUM_PRESENT ? 4 : 0);
  let at = 20;
  let body: Document | undefined;
  const sequences: string[] = [];
  while (at < end) {
    const kind = buf[at]!;
    at += 1;
    if (kind === 0) {
      const bytes = readDocumentBytes(buf, at, end);
      body = decodeBody(bytes);
      at += bytes.length;
    } else if (kind === 1) {
      if (at + 4 > end) throw new WireProtocolError('truncated OP_MSG document sequence');
      const size = buf.readInt32LE(at);
      if (size < 5 || at + size > end)
        throw new WireProtocolError(`OP_MSG document sequence of ${size} bytes overruns its message`);
      sequences.push(readCString(buf, at + 4, at + size).value);
      at += size;
    } else {
      throw new WireProtocolError(`unknown OP_MSG section kind ${kind}`);
    }
  }
  if (!body) throw new WireProtocolError('OP_MSG without a body section');
  const db = body.$db;
  return commandInfo(frame, body, typeof db === 'string' ? db : undefined, {
    sequences,
    moreToCome: (flagBits & MSG_MORE_TO_COME) !== 0,
    exhaustAllowed: (flagBits & MSG_EXHAUST_ALLOWED) !== 0,
  });
}

function parseOpQuery(frame: Frame): RequestInfo {
  const buf = frame.bytes;
  const ns = readCString(buf, 20, buf.length);
  const dot = ns.value.indexOf('.');
  const database = dot > 0 ? ns.value.slice(0, dot) : ns.value;
  // Only `db.$cmd` queries are commands (the driver's legacy handshake); anything else is a legacy query.
  if (!ns.value.endsWith('.$cmd')) return commandInfo(frame, undefined, database, { opaque: true });
  const doc = decodeBody(readDocumentBytes(buf, ns.next + 8, buf.length));
  // Legacy form wraps the command with its read preference: { $query: { isMaster: 1 }, $readPreference: ... }.
  const wrapped = doc.$query;
  const body = wrapped && typeof wrapped === 'object' && !Buffer.isBuffer(wrapped) ? (wrapped as Document) : doc;
  return commandInfo(frame, body, database, {});
}

const COMPRESSOR_NOOP = 0;
const COMPRESSOR_ZLIB = 2;

/** The message inside an OP_COMPRESSED, when its compressor is one Node.js has built in. */
function decompress(frame: Frame): Frame | undefined {
  const buf = frame.bytes;
  if (buf.length < HEADER_BYTES + 9) throw new WireProtocolError('OP_COMPRESSED too short');
  const originalOpCode = buf.readInt32LE(16);
  const size = buf.readInt32LE(20);
  const compressor = buf[24];
  const data = buf.subarray(25);
  let inner: Buffer;
  if (compressor === COMPRESSOR_NOOP) inner = data;
  else if (compressor === COMPRESSOR_ZLIB) inner = inflateSync(data);
  else return undefined; // snappy and zstd need native packages the project does not carry
  if (inner.length !== size) throw new WireProtocolError(`OP_COMPRESSED announced ${size} bytes, held ${inner.length}`);
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeInt32LE(HEADER_BYTES + size, 0);
  header.writeInt32LE(frame.requestId, 4);
  header.writeInt32LE(frame.responseTo, 8);
  header.writeInt32LE(originalOpCode, 12);
  return {
    bytes: Buffer.concat([header, inner]),
    requestId: frame.requestId,
    responseTo: frame.responseTo,
    opCode: originalOpCode,
  };
}

/** Reads a client's message. Never throws for a message it merely does not understand (that is `opaque`). */
export function parseRequest(frame: Frame): RequestInfo {
  if (frame.opCode === OP_MSG) return parseOpMsg(frame);
  if (frame.opCode === OP_QUERY) return parseOpQuery(frame);
  if (frame.opCode === OP_COMPRESSED) {
    const inner = decompress(frame);
    const info = inner ? parseRequest(inner) : commandInfo(frame, undefined, undefined, { opaque: true });
    return { ...info, opCode: frame.opCode, compressed: true };
  }
  return commandInfo(frame, undefined, undefined, { opaque: true });
}

/** A server message: whether more replies to the same request follow (exhaust streaming). */
export function replyMoreToCome(frame: Frame): boolean {
  if (frame.opCode === OP_MSG && frame.bytes.length >= 20)
    return (frame.bytes.readUInt32LE(16) & MSG_MORE_TO_COME) !== 0;
  if (frame.opCode === OP_COMPRESSED) {
    const inner = decompress(frame);
    return inner ? replyMoreToCome(inner) : false;
  }
  return false;
}

/** The single document of a reply (OP_MSG body or first OP_REPLY document); undefined when unreadable. */
export function replyDocument(frame: Frame): Document | undefined {
  if (frame.opCode === OP_MSG) return parseOpMsg(frame).body;
  if (frame.opCode === OP_REPLY) {
    // responseFlags(4) cursorID(8) startingFrom(4) numberReturned(4), then the documents.
    const numberReturned = frame.bytes.readInt32LE(32);
    return numberReturned > 0 ? decodeBody(readDocumentBytes(frame.bytes, 36, frame.bytes.length)) : undefined;
  }
  if (frame.opCode === OP_COMPRESSED) {
    const inner = decompress(frame);
    return inner ? replyDocument(inner) : undefined;
  }
  return undefined;
}

function header(length: number, requestId: number, responseTo: number, opCode: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.writeInt32LE(length, 0);
  h.writeInt32LE(requestId, 4);
  h.writeInt32LE(responseTo, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

/** An OP_MSG with one body section: how a server answers an OP_MSG command. */
export function encodeOpMsg(requestId: number, responseTo: number, doc: Document, flagBits = 0): Buffer {
  const body = BSON.serialize(doc);
  const flags = Buffer.alloc(5);
  flags.writeUInt32LE(flagBits, 0);
  flags[4] = 0; // section kind 0: body
  return Buffer.concat([header(HEADER_BYTES + 5 + body.length, requestId, responseTo, OP_MSG), flags, body]);
}

/** An OP_REPLY with one document: how a server answers a legacy OP_QUERY command (the driver's first isMaster). */
export function encodeOpReply(requestId: number, responseTo: number, doc: Document): Buffer {
  const body = BSON.serialize(doc);
  const fields = Buffer.alloc(20);
  fields.writeInt32LE(0, 0); // responseFlags: a command error is ok: 0 in the document, not QueryFailure
  fields.writeBigInt64LE(0n, 4); // cursorID
  fields.writeInt32LE(0, 12); // startingFrom
  fields.writeInt32LE(1, 16); // numberReturned
  return Buffer.concat([header(HEADER_BYTES + 20 + body.length, requestId, responseTo, OP_REPLY), fields, body]);
}

/** An OP_QUERY command, for tests that speak the legacy handshake the way the driver does. */
export function encodeOpQuery(requestId: number, namespace: string, doc: Document): Buffer {
  const ns = Buffer.from(`${namespace}\0`, 'utf8');
  const body = BSON.serialize(doc);
  const fields = Buffer.alloc(8);
  fields.writeInt32LE(0, 0); // numberToSkip
  fields.writeInt32LE(-1, 4); // numberToReturn: one batch, as the driver sends commands
  const flags = Buffer.alloc(4);
  return Buffer.concat([
    header(HEADER_BYTES + 4 + ns.length + 8 + body.length, requestId, 0, OP_QUERY),
    flags,
    ns,
    fields,
    body,
  ]);
}
