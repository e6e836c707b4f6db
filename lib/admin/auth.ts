import { createHash, timingSafeEqual } from 'node:crypto';
import type { AdminRequest } from './types.js';

/** The key a request presents: the x-functions-key header (as Azure Functions takes it), else ?code=. */
export function presentedKey(req: Pick<AdminRequest, 'headers' | 'query'>): string | undefined {
  const header = headerValue(req.headers, 'x-functions-key');
  if (header) return header;
  const code = req.query.code;
  const value = typeof code === 'string' ? code : code?.[0];
  return value || undefined;
}

/**
 * Constant-time comparison. Both sides are hashed first, so the comparison's length and duration
 * reveal nothing about the key (timingSafeEqual alone needs equal lengths and would leak the length).
 */
export function keyMatches(presented: string | undefined, expected: string | undefined): boolean {
  if (!expected) return false;
  const a = createHash('sha256')
    .update(presented ?? '')
    .digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && presented !== undefined;
}

export function headerValue(headers: AdminRequest['headers'], name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() !== lower || v === undefined) continue;
    return typeof v === 'string' ? v : v[0];
  }
  return undefined;
}
