/**
 * Every state-changing statement (lib/store/mongo/writes.ts) against the transition table: each state it
 * may leave and enter is an allowed transition, and its filter lets it leave no other state.
 */
import { describe, expect, it } from 'vitest';
import { writes } from '../../lib/store/mongo/writes.js';
import { JobTaskStatus as S, leasedStatuses, statusName, type JobTaskStatus } from '../../lib/tasks/status.js';
import { canTransition, isValidPath } from '../../lib/tasks/transitions.js';

type Declared = (typeof writes)[keyof typeof writes];
type Filtered = Exclude<Declared, { kind: 'insert' }>;

const filtered = Object.values(writes).filter((w): w is Filtered => w.kind !== 'insert');
const leased = (s: JobTaskStatus) => (leasedStatuses as readonly JobTaskStatus[]).includes(s);

/** The from -> to pairs a write declares: every source with every target, or per target when the caller picks it. */
function pairsOf(w: Filtered): [JobTaskStatus, JobTaskStatus][] {
  const sourcesOf = 'sourcesOf' in w ? w.sourcesOf : undefined;
  return w.to.flatMap((to) =>
    (sourcesOf ? sourcesOf(to) : w.from).map((from): [JobTaskStatus, JobTaskStatus] => [from, to]),
  );
}

const forbidden = (pairs: [JobTaskStatus, JobTaskStatus][]) =>
  pairs.filter(([f, t]) => !canTransition(f, t)).map(([f, t]) => `${statusName(f)} -> ${statusName(t)}`);

/** The states a filter's status condition admits (sample arguments). */
function statusesIn(w: Filtered): JobTaskStatus[] {
  const filter = (w.filter as (...a: unknown[]) => Record<string, unknown>)(...w.sample);
  const status = filter.status as JobTaskStatus | { $in: JobTaskStatus[] };
  return typeof status === 'number' ? [status] : status.$in;
}

describe('every declared write follows the transition table', () => {
  it('declares each write under its own name', () => {
    for (const [key, w] of Object.entries(writes)) expect(w.name).toBe(key);
  });

  it.each(filtered.map((w) => [w.name, w] as const))('%s: every from -> to pair is allowed', (_name, w) => {
    expect(forbidden(pairsOf(w))).toEqual([]);
  });

  it.each(filtered.map((w) => [w.name, w] as const))('%s: its filter leaves only the declared states', (_name, w) => {
    const allowed: readonly JobTaskStatus[] = w.from;
    expect(statusesIn(w).filter((s) => !allowed.includes(s))).toEqual([]);
  });

  it('only the owner (by lease token) or the reclaimer moves a task out of a leased state', () => {
    const moving = filtered.filter((w) => w.to.length > 0 && pairsOf(w).some(([f]) => leased(f)));
    for (const w of moving) {
      const filter = (w.filter as (...a: unknown[]) => Record<string, unknown>)(...w.sample);
      expect(filter, w.name).toHaveProperty(['owner.leaseToken']);
    }
    expect(moving.map((w) => w.name).sort()).toEqual([
      'cancelled',
      'cancelledInstead',
      'complete',
      'completeMany',
      'fail',
      'reclaim',
      'release',
      'start',
      'startMany',
      'timedOut',
    ]);
  });

  it('a versioned transition never leaves a leased state, whatever the target', () => {
    const { transition } = writes;
    for (const to of transition.to) expect(transition.sourcesOf!(to).filter(leased)).toEqual([]);
  });

  it('the insert records a valid flow for each state a new task may start in', () => {
    const { ingest } = writes;
    for (const path of ingest.paths) {
      expect(isValidPath(path)).toBe(true);
      expect(path[0]).toBe(S.Created);
    }
    expect(ingest.paths.map((p) => p[p.length - 1]).sort()).toEqual([...ingest.to].sort());
  });

  it('the check itself catches a pair the table forbids', () => {
    expect(
      forbidden([
        [S.Succeeded, S.Running],
        [S.Running, S.Succeeded],
      ]),
    ).toEqual(['Succeeded -> Running']);
  });
});
