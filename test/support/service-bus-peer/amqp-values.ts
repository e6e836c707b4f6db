/** Value conversions between Service Bus conventions and what rhea encodes/decodes. */
import { randomBytes } from 'node:crypto';
import rhea from 'rhea';
import type { Typed } from 'rhea';

/** A message as rhea decodes it: header/properties fields flattened, sections as maps. */
export interface WireMessage {
  message_id?: unknown;
  group_id?: string;
  delivery_count?: number;
  application_properties?: Record<string, unknown>;
  message_annotations?: Record<string, unknown>;
  body?: unknown;
  [field: string]: unknown;
}

export const batchMessageFormat = 0x80013700;
const ticksAtUnixEpoch = 621_355_968_000_000_000n;

export function decodeMessage(data: Buffer): WireMessage {
  return rhea.message.decode(data) as unknown as WireMessage;
}

export function encodeMessage(message: WireMessage): Buffer {
  return rhea.message.encode(message);
}

/** The messages inside a batched transfer (format 0x80013700): each data section is one encoded message. */
export function decodeBatch(data: Buffer): WireMessage[] {
  const envelope = decodeMessage(data) as { body?: { content?: unknown; multiple?: boolean } };
  const content = envelope.body?.content;
  const sections = envelope.body?.multiple ? (content as Buffer[]) : content ? [content as Buffer] : [];
  return sections.map((s) => decodeMessage(s));
}

/** AMQP long as rhea decodes it: a number when it fits 2^53, else the 8 big-endian bytes. */
export function longToNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (Buffer.isBuffer(value) && value.length === 8) return Number(value.readBigInt64BE(0));
  throw new TypeError(`not an AMQP long: ${String(value)}`);
}

export function wrapLong(n: number): Typed {
  return rhea.types.wrap_long(n);
}

/** .NET ticks (100 ns since 0001-01-01), which the SDK reads from `com.microsoft:locked-until-utc`. */
export function ticks(date: Date): Typed {
  const buf = Buffer.alloc(8);
  buf.writeBigInt64BE(BigInt(date.getTime()) * 10_000n + ticksAtUnixEpoch);
  return rhea.types.wrap_long(buf);
}

export function uuid(bytes: Buffer): Typed {
  return rhea.types.wrap_uuid(bytes);
}

export function timestampArray(dates: Date[]): Typed {
  return rhea.types.wrap_array(dates, 0x83, undefined);
}

export function longArray(values: number[]): Typed {
  return rhea.types.wrap_array(values, 0x81, undefined);
}

/**
 * Lock tokens. The peer keys locks by the GUID string; on the wire the SDK reads the 16-byte delivery
 * tag in .NET byte order (first three groups little-endian) but sends tokens in management requests as
 * AMQP uuids in RFC order, so the tag is the reordered form of the uuid bytes.
 */
export function newLockToken(): string {
  return rhea.uuid_to_string(randomBytes(16));
}

export function lockTokenToDeliveryTag(token: string): Buffer {
  return dotNetOrder(rhea.string_to_uuid(token));
}

export function lockTokenBytes(token: string): Buffer {
  return rhea.string_to_uuid(token);
}

export function lockTokenFromUuid(value: unknown): string {
  if (!Buffer.isBuffer(value) || value.length !== 16) throw new TypeError('lock token is not a 16-byte uuid');
  return rhea.uuid_to_string(value);
}

function dotNetOrder(b: Buffer): Buffer {
  return Buffer.from([b[3]!, b[2]!, b[1]!, b[0]!, b[5]!, b[4]!, b[7]!, b[6]!, ...b.subarray(8)]);
}
