/**
 * Storage Queue message-text encoding.
 *
 * The Functions host's queue trigger reads message text as Base64 by default (host.json
 * `extensions.queues.messageEncoding: "base64"`), so we write Base64 of the UTF-8 body by default;
 * `text` mode writes the body as is (the SDK XML-escapes it), falling back to Base64 for bodies with
 * control characters (CR/LF do not survive the service's XML round trip as text; some XML cannot carry
 * at all) and for bodies that would read back as Base64. On receive both are accepted: text that is canonical Base64 of valid UTF-8 is decoded,
 * anything else is taken as plain text. (The one ambiguity: a plain-text body that is itself canonical
 * Base64 of valid UTF-8, such as "QUJD", reads back decoded. JSON bodies never are.)
 */
export type StorageMessageEncoding = 'base64' | 'text';

const canonicalBase64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Control characters, and what XML 1.0 cannot carry at all: such bodies go as Base64 even in text mode. */
const notPlainText = /[^\u0020-\u007E\u00A0-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function encodeStorageBody(body: string, encoding: StorageMessageEncoding): string {
  if (encoding === 'text' && !notPlainText.test(body) && !looksBase64(body)) return body;
  return Buffer.from(body, 'utf8').toString('base64');
}

export function decodeStorageBody(text: string): string {
  if (!looksBase64(text)) return text;
  try {
    return strictUtf8.decode(Buffer.from(text, 'base64'));
  } catch {
    return text;
  }
}

/** Text mode sends a body that would read back decoded as Base64 instead, so it round-trips. */
function looksBase64(text: string): boolean {
  return text.length > 0 && text.length % 4 === 0 && canonicalBase64.test(text);
}

/** Bytes the service stores for this body (its 64 KiB limit applies to the encoded text). */
export function encodedSize(encoded: string): number {
  return Buffer.byteLength(encoded, 'utf8');
}
