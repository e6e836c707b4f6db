/**
 * Fault rules: which messages a rule matches (command, collection, database, or new connections), what fault it
 * injects, and how often (probability, count, skip, duration). One zod schema parses rules at both doors, the
 * in-process API and the HTTP control API, so both refuse the same mistakes with the same messages.
 */
import { z } from 'zod';
import { KNOWN_SERVER_ERRORS } from './server-errors.js';
import type { RequestInfo } from './wire.js';

const names = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);
const delayMs = z.number().int().min(0).max(600_000);

export const matchSchema = z.strictObject({
  /** Command name(s), case-insensitive (`findAndModify` = `findandmodify`). */
  command: names.optional(),
  /** Collection name(s), exact. */
  collection: names.optional(),
  /** Database name(s), exact. */
  database: names.optional(),
});

export const faultSchema = z.discriminatedUnion('kind', [
  /** Hold the request `ms` before forwarding it. */
  z.strictObject({ kind: z.literal('delayRequest'), ms: delayMs }),
  /** Forward the request; hold its reply `ms` before delivering it. */
  z.strictObject({ kind: z.literal('delayReply'), ms: delayMs }),
  /** Do not forward the request; close the client's connection (nothing applied). */
  z.strictObject({ kind: z.literal('dropRequest') }),
  /** Forward the request, wait for the server's reply, discard it and close the client's connection (applied, reply lost). */
  z.strictObject({ kind: z.literal('dropReply') }),
  /** Forward the request; send only the first `afterBytes` of its reply (default: half), then close. */
  z.strictObject({ kind: z.literal('cutReply'), afterBytes: z.number().int().min(0).optional() }),
  /** Answer the request in the server's place with a MongoDB error; the request is not forwarded. */
  z.strictObject({
    kind: z.literal('error'),
    code: z.number().int(),
    codeName: z.string().min(1).optional(),
    errmsg: z.string().optional(),
    errorLabels: z.array(z.string().min(1)).optional(),
    retryAfterMs: z.number().int().min(0).nullable().optional(),
    shape: z.enum(['auto', 'command', 'writeError']).optional(),
  }),
  /** Reset new connections as they are accepted (rules of this kind match connections, not commands). */
  z.strictObject({ kind: z.literal('refuseConnection') }),
]);

export const ruleSchema = z
  .strictObject({
    /** Name for counters and removal; generated (`r1`, `r2`, ...) when absent. */
    id: z.string().min(1).max(100).optional(),
    match: matchSchema.optional(),
    fault: faultSchema,
    /** Chance a matching message gets the fault (seeded PRNG); default 1. */
    probability: z.number().min(0).max(1).optional(),
    /** At most this many injections; then the rule lets everything pass. */
    count: z.number().int().min(1).optional(),
    /** Let the first `skip` matching messages pass untouched. */
    skip: z.number().int().min(0).optional(),
    /** The rule ends this long after it was added ("refuse connections for 2 s"). */
    durationMs: z.number().int().min(1).optional(),
  })
  .superRefine((rule, ctx) => {
    if (rule.fault.kind === 'refuseConnection' && rule.match !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['match'],
        message: 'refuseConnection acts on new connections, which carry no command, collection or database',
      });
    }
    if (
      rule.fault.kind === 'error' &&
      !(rule.fault.code in KNOWN_SERVER_ERRORS) &&
      (rule.fault.codeName === undefined || rule.fault.errmsg === undefined)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['fault', 'code'],
        message: `code ${rule.fault.code} has no built-in reply (known: ${Object.keys(KNOWN_SERVER_ERRORS).join(', ')}); give codeName and errmsg`,
      });
    }
  });

export type FaultRule = z.input<typeof ruleSchema>;
export type ParsedRule = z.output<typeof ruleSchema>;
export type Fault = z.output<typeof faultSchema>;
export type FaultKind = Fault['kind'];
export type RuleMatch = z.output<typeof matchSchema>;

export const FAULT_KINDS: readonly FaultKind[] = [
  'delayRequest',
  'delayReply',
  'dropRequest',
  'dropReply',
  'cutReply',
  'error',
  'refuseConnection',
];

/** A rule that does not parse; `issues` says which field and why. */
export class InvalidRuleError extends Error {
  constructor(readonly issues: { path: string; message: string }[]) {
    super(`invalid fault rule: ${issues.map((i) => `${i.path || '(rule)'}: ${i.message}`).join('; ')}`);
    this.name = 'InvalidRuleError';
  }
}

export function parseRule(input: unknown): ParsedRule {
  const result = ruleSchema.safeParse(input);
  if (!result.success)
    throw new InvalidRuleError(
      result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
    );
  return result.data;
}

/**
 * The connection handshake and authentication. A rule touches them only when it names them in `command`, so a
 * rule such as "every command, 10 % errors" still lets connections be established and monitored.
 */
export const HANDSHAKE_COMMANDS = new Set([
  'hello',
  'ismaster',
  'saslstart',
  'saslcontinue',
  'authenticate',
  'getnonce',
]);

export function isHandshake(request: RequestInfo): boolean {
  return request.command !== undefined && HANDSHAKE_COMMANDS.has(request.command.toLowerCase());
}

const list = (v: string | string[] | undefined): string[] | undefined =>
  v === undefined ? undefined : Array.isArray(v) ? v : [v];

/** Whether `match` selects `request`. Messages the proxy cannot read (`opaque`) are never matched. */
export function matchesRequest(match: RuleMatch | undefined, request: RequestInfo): boolean {
  if (request.opaque || request.command === undefined) return false;
  const command = request.command.toLowerCase();
  const commands = list(match?.command)?.map((c) => c.toLowerCase());
  if (commands ? !commands.includes(command) : HANDSHAKE_COMMANDS.has(command)) return false;
  const collections = list(match?.collection);
  if (collections && (request.collection === undefined || !collections.includes(request.collection))) return false;
  const databases = list(match?.database);
  if (databases && (request.database === undefined || !databases.includes(request.database))) return false;
  return true;
}

/** What a rule did so far, as the counters report it. */
export interface RuleCounters {
  id: string;
  fault: FaultKind;
  /** Messages (or connections) that matched while the rule was active. */
  matched: number;
  /** Faults injected. */
  injected: number;
  /** Still injecting (not removed, healed, expired or used up). */
  active: boolean;
  rule: ParsedRule;
}

/** A rule with its running state: decides, message by message, whether to inject. */
export class ActiveRule {
  matched = 0;
  injected = 0;
  private removed = false;
  private readonly expiresAt: number | undefined;

  constructor(
    readonly id: string,
    readonly rule: ParsedRule,
    now: number,
  ) {
    this.expiresAt = rule.durationMs === undefined ? undefined : now + rule.durationMs;
  }

  get fault(): Fault {
    return this.rule.fault;
  }

  remove(): void {
    this.removed = true;
  }

  isActive(now: number): boolean {
    if (this.removed) return false;
    if (this.expiresAt !== undefined && now >= this.expiresAt) return false;
    return this.rule.count === undefined || this.injected < this.rule.count;
  }

  /** Called for a message (or connection) that matches; true when this one gets the fault. */
  decide(now: number, random: () => number): boolean {
    if (!this.isActive(now)) return false;
    this.matched += 1;
    if (this.matched <= (this.rule.skip ?? 0)) return false;
    const p = this.rule.probability ?? 1;
    if (p < 1 && random() >= p) return false;
    this.injected += 1;
    return true;
  }

  counters(now: number): RuleCounters {
    return {
      id: this.id,
      fault: this.fault.kind,
      matched: this.matched,
      injected: this.injected,
      active: this.isActive(now),
      rule: this.rule,
    };
  }
}

/** mulberry32: a small seeded PRNG, so a run with random faults can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
