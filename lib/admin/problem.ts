import type { z } from 'zod';
import { describeViolation, type InputViolation } from '../tasks/input-limits.js';
import type { AdminResponse } from './types.js';

/** One entry of RFC 9457's `invalid-params` extension. */
export interface InvalidParam {
  name: string;
  reason: string;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
const TYPE_PREFIX = 'urn:taskmesh:problem:';

/** A request that ends in an RFC 9457 problem response. Thrown by routes; the router renders it. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    /** Short kebab-case name; the problem `type` is urn:taskmesh:problem:<slug>. */
    readonly slug: string,
    readonly title: string,
    readonly detail?: string,
    readonly extras: { invalidParams?: InvalidParam[]; headers?: Record<string, string>; [k: string]: unknown } = {},
  ) {
    super(detail ?? title);
    this.name = 'HttpProblem';
  }
}

export const problems = {
  badRequest: (detail: string, invalidParams?: InvalidParam[]) =>
    new HttpProblem(400, 'invalid-request', 'Invalid request', detail, invalidParams ? { invalidParams } : {}),
  unauthorized: () =>
    new HttpProblem(
      401,
      'unauthorized',
      'Unauthorized',
      'A valid admin key is required in the x-functions-key header (or ?code=).',
      {
        headers: { 'www-authenticate': 'x-functions-key' },
      },
    ),
  notFound: (detail: string) => new HttpProblem(404, 'not-found', 'Not found', detail),
  methodNotAllowed: (allow: readonly string[]) =>
    new HttpProblem(405, 'method-not-allowed', 'Method not allowed', `Allowed: ${allow.join(', ')}`, {
      headers: { allow: allow.join(', ') },
    }),
  conflict: (slug: string, detail: string, extra: Record<string, unknown> = {}) =>
    new HttpProblem(409, slug, 'Conflict', detail, extra),
  tooLarge: (max: number) => new HttpProblem(413, 'body-too-large', 'Request body too large', `At most ${max} bytes.`),
  unsupportedMediaType: () =>
    new HttpProblem(415, 'unsupported-media-type', 'Unsupported media type', 'Send the body as application/json.'),
  unknownTaskType: (taskType: string, knownTypes: readonly string[], detail: string) =>
    new HttpProblem(422, 'unknown-task-type', 'Unknown task type', detail, { taskType, knownTypes }),
  unavailable: (detail: string) =>
    new HttpProblem(503, 'unavailable', 'Service unavailable', detail, { headers: { 'retry-after': '5' } }),
  internal: () =>
    new HttpProblem(500, 'internal', 'Internal error', 'The request failed; the server log has the details.'),
};

/**
 * Input the shared limits refuse (lib/tasks/input-limits.ts): 413 when too large, else 400; `code` is the
 * same reason a queue message gets in its dead letter.
 */
export function refusedInput(v: InputViolation): HttpProblem {
  if (v.code === 'BodyTooLarge')
    return new HttpProblem(413, 'body-too-large', 'Request body too large', describeViolation(v), { code: v.code });
  return new HttpProblem(400, 'invalid-request', 'Invalid request', describeViolation(v), {
    invalidParams: [{ name: v.path, reason: v.detail }],
    code: v.code,
  });
}

/** A zod failure as a 400 with one invalid-params entry per issue (path joined with dots; values never echoed). */
export function fromZodError(error: z.ZodError, where: 'query' | 'body' | 'path'): HttpProblem {
  const invalidParams = error.issues.map((i) => ({
    name: i.path.length ? i.path.map(String).join('.') : where,
    reason: i.message,
  }));
  return problems.badRequest(`The ${where} is invalid.`, invalidParams);
}

export function problemResponse(p: HttpProblem, instance: string): AdminResponse {
  const { invalidParams, headers, ...rest } = p.extras;
  const body: Record<string, unknown> = {
    type: `${TYPE_PREFIX}${p.slug}`,
    title: p.title,
    status: p.status,
    ...(p.detail ? { detail: p.detail } : {}),
    instance,
    ...(invalidParams?.length ? { 'invalid-params': invalidParams } : {}),
    ...rest,
  };
  return {
    status: p.status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE, ...headers },
    body: JSON.stringify(body),
  };
}

export function problemType(slug: string): string {
  return `${TYPE_PREFIX}${slug}`;
}
