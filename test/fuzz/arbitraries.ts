/**
 * Generators for the fuzz suites, and their run settings: a fixed seed and a bounded run in CI;
 * FUZZ_RUNS and FUZZ_SEED for a longer run (e.g. `FUZZ_RUNS=20000 npx vitest run test/fuzz`).
 */
import fc from 'fast-check';

export const fuzzSettings = {
  seed: Number(process.env.FUZZ_SEED ?? 20_261_130),
  numRuns: Number(process.env.FUZZ_RUNS ?? 150),
};

/** fast-check parameters for one property; `scale` shrinks slow properties' share of the runs. */
export function fuzzParams(scale = 1): fc.Parameters<unknown> {
  return {
    seed: fuzzSettings.seed,
    numRuns: Math.max(5, Math.round(fuzzSettings.numRuns * scale)),
    endOnFailure: true,
  };
}

/** Keys that MongoDB or JavaScript treat specially, among ordinary ones. */
const hostileKey = fc.oneof(
  fc.constantFrom('$where', '$gt', '$set', 'a.b', '.', 'a\u0000b', '__proto__', 'constructor', 'prototype', 'type'),
  fc.constantFrom('payload', 'priority', 'idempotencyKey', 'maxRetries', 'notBefore', 'timeout', 'timeoutMs'),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
);

const scalar = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(1e308, -0, Number.MAX_SAFE_INTEGER + 2, 0.1),
  fc.boolean(),
  fc.constant(null),
);

/** JSON values with hostile keys, moderately deep. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(hostileKey, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** Text nested `depth` levels deep (arrays or objects), as a hostile producer would send it. */
export const deepText = fc
  .tuple(fc.integer({ min: 50, max: 6_000 }), fc.boolean())
  .map(([depth, objects]) =>
    objects ? `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}` : `${'['.repeat(depth)}1${']'.repeat(depth)}`,
  );

/** An envelope-like object: the right members with wrong or hostile values, and extra members. */
export const envelopeish = fc.record(
  {
    type: fc.oneof(fc.constantFrom('echo', 'email.send', '$where', '', ' x', 'a b', 'x'.repeat(201)), scalar),
    payload: hostileJson,
    priority: fc.oneof(fc.integer({ min: -2_000_000, max: 2_000_000 }), scalar),
    idempotencyKey: fc.oneof(fc.string({ maxLength: 600 }), scalar),
    maxRetries: fc.oneof(fc.integer({ min: -5, max: 200 }), scalar),
    notBefore: fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      scalar,
    ),
    timeout: fc.oneof(fc.constantFrom('30s', '00:05:00', '-1', '99999d'), scalar),
    timeoutMs: fc.oneof(fc.integer({ min: -5, max: 1e10 }), scalar),
    extra: hostileJson,
  },
  { requiredKeys: [] },
);

/** A request or message body as text: JSON of hostile values, deep nesting, or not JSON at all. */
export const bodyText = fc.oneof(
  envelopeish.map((v) => JSON.stringify(v)),
  hostileJson.map((v) => JSON.stringify(v) ?? ''),
  deepText,
  deepText.map((t) => `{"type":"echo","payload":${t}}`),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 50 }),
  envelopeish.map((v) => JSON.stringify(v).slice(0, -1)),
);

/** Path segments and query values: ids of every shape, percent-encoding, control characters. */
export const idSegment = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 24, maxLength: 24 }),
  fc.string({ minLength: 1, maxLength: 30 }).map((s) => encodeURIComponent(s)),
  fc.constantFrom('%00', '%', '%zz', '..', '%2F', '%2e%2e', 'a%0Ab', '$where', 'null', '-1', 'x'.repeat(300)),
);

export const queryValue = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
  fc.constantFrom('-1', '0', '501', '1e3', 'NaN', 'Queued,Running', '2026-01-01T00:00:00Z', '99999999999999999'),
);

export const headerValue = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.constantFrom('application/json', 'text/plain', 'application/problem+json', 'application/json; charset=utf-16'),
);
