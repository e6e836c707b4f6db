import { z } from 'zod';
import { MAX_TASK_DEPTH, checkSize, scanDocument } from '../tasks/input-limits.js';
import { headerValue } from './auth.js';
import { fromZodError, problems, refusedInput } from './problem.js';
import type { AdminRequest, AdminResponse } from './types.js';

export function json(status: number, body: unknown, headers: Record<string, string> = {}): AdminResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(body),
  };
}

/**
 * The query as zod should see it: `code` (the key) removed, every parameter a single string except
 * those listed in `multi` (which become arrays). A scalar given twice is an error, not a silent pick.
 */
function normalizeQuery(query: AdminRequest['query'], multi: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const repeated: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    if (k === 'code' || v === undefined) continue;
    const values = typeof v === 'string' ? [v] : [...v];
    if (multi.includes(k)) out[k] = values;
    else if (values.length > 1) repeated.push(k);
    else out[k] = values[0]!;
  }
  if (repeated.length)
    throw problems.badRequest(
      'A parameter was given more than once.',
      repeated.map((name) => ({ name, reason: 'given more than once' })),
    );
  return out;
}

export function parseQuery<S extends z.ZodType>(
  req: AdminRequest,
  schema: S,
  multi: readonly string[] = [],
): z.output<S> {
  const result = schema.safeParse(normalizeQuery(req.query, multi));
  if (!result.success) throw fromZodError(result.error, 'query');
  return result.data;
}

/**
 * Parses a JSON body with `schema`. An empty body reads as `{}` when `optional` (e.g. cancel without a reason).
 *
 * Before zod sees it, every body is scanned without recursion (lib/tasks/input-limits.ts): a deeply nested
 * body is a 400, never a stack overflow in a recursive schema. `task`: the body is task input, so it gets
 * the full rules every door applies (size, depth, keys, types), with `task.maxBytes` as its size limit.
 */
export function parseBody<S extends z.ZodType>(
  req: AdminRequest,
  schema: S,
  opts: { optional?: boolean; maxBytes: number; task?: { maxBytes: number } },
): z.output<S> {
  const text = req.body ?? '';
  if (Buffer.byteLength(text, 'utf8') > opts.maxBytes) throw problems.tooLarge(opts.maxBytes);
  if (opts.task) {
    const tooLarge = checkSize(text, opts.task.maxBytes, 'the task size limit (Ingest:MaxBodyBytes)');
    if (tooLarge) throw refusedInput(tooLarge);
  }
  let value: unknown = {};
  if (text.trim() === '') {
    if (!opts.optional) throw problems.badRequest('A JSON body is required.');
  } else {
    const type = headerValue(req.headers, 'content-type');
    if (type && !/^application\/([\w.+-]+\+)?json\b/i.test(type)) throw problems.unsupportedMediaType();
    try {
      value = JSON.parse(text);
    } catch {
      throw problems.badRequest('The body is not valid JSON.');
    }
  }
  // One level more for a wrapper such as POST /messages' { body: ... }.
  const violation = scanDocument(value, opts.task ? {} : { maxDepth: MAX_TASK_DEPTH + 1, checkKeys: false });
  if (violation) throw refusedInput(violation);
  const result = schema.safeParse(value);
  if (!result.success) throw fromZodError(result.error, 'body');
  return result.data;
}

/** A path parameter: decoded, non-empty, bounded, no control characters. */
export const idParam = z
  .string()
  .min(1)
  .max(256)
  .refine((s) => ![...s].some((c) => c === '/' || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f), {
    message: 'an id without slashes or control characters',
  });

/** A time as ISO 8601 (with a zone) or milliseconds since the epoch. */
export const timeParam = z.union(
  [
    z.iso.datetime({ offset: true }).transform((s) => new Date(s)),
    z
      .string()
      .regex(/^\d{1,15}$/)
      .transform((s) => new Date(Number(s))),
  ],
  { message: 'an ISO 8601 time with a zone, or epoch milliseconds' },
);

/** Splits "a,b" and repeated parameters into one list. */
export const listParam = z.array(z.string()).transform((values) =>
  values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== ''),
);
