/**
 * The MNS request signature, recomputed by the peer from what arrived:
 *   base64(HMAC-SHA1(secret, VERB \n Content-MD5 \n Content-Type \n Date \n
 *                    sorted "x-mns-name:value\n" headers + resource))
 * where the resource is the request path and query exactly as sent.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

function header(headers: IncomingHttpHeaders, name: string): string {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : (v ?? '');
}

export function stringToSign(method: string, headers: IncomingHttpHeaders, resource: string): string {
  const mns = Object.keys(headers)
    .filter((k) => k.startsWith('x-mns-'))
    .sort()
    .map((k) => `${k}:${header(headers, k)}\n`)
    .join('');
  return `${method}\n${header(headers, 'content-md5')}\n${header(headers, 'content-type')}\n${header(headers, 'date')}\n${mns}${resource}`;
}

export function sign(secret: string, method: string, headers: IncomingHttpHeaders, resource: string): string {
  return createHmac('sha1', secret)
    .update(stringToSign(method, headers, resource), 'utf8')
    .digest('base64');
}

export function signaturesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** MNS's Content-MD5: the base64 of the hex MD5 digest string (not of the raw digest). */
export function contentMd5(body: Buffer): string {
  return Buffer.from(createHash('md5').update(body).digest('hex'), 'utf8').toString('base64');
}

/** MessageBodyMD5 in replies: the upper-case hex MD5 of the body's UTF-8 bytes. */
export function bodyMd5(body: string): string {
  return createHash('md5').update(body, 'utf8').digest('hex').toUpperCase();
}
