/**
 * The transition table, exercised through the store: every allowed transition is performed by the
 * store operation that owns it and lands; a sample of forbidden ones is refused and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobTaskStatus as S, allStatuses, statusName, type JobTaskStatus } from '../../lib/tasks/status.js';
import { canTransition, transitions, InvalidTransitionError } from '../../lib/tasks/transitions.js';
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import type { Lease } from '../../lib/store/task-store.js';
import { openTestDb, type TestDb } from '../support/db.js';

describe('JobTaskStatus', () => {
  it('has the seed names and numeric values, exactly', () => {
    expect(S).toEqual({
      Pending: 0,
      Created: 1,
      Processing: 10,
      Completed: 11,
      Failed: 12,
      Queued: 20,
      Assigned: 21,
      Running: 22,
      Succeeded: 23,
      Error: 24,
      Retrying: 25,
      Cancelled: 26,
      Timeout: 27,
      Archived: 90,
      Deleted: 91,
    });
  });

  it('covers the seed flows in the table', () => {
    const path = (...p: JobTaskStatus[]) => p.every((s, i) => i === 0 || canTransition(p[i - 1]!, s));
    expect(path(S.Created, S.Processing, S.Completed)).toBe(true);
    expect(path(S.Created, S.Processing, S.Failed)).toBe(true);
    expect(path(S.Completed, S.Queued, S.Assigned, S.Running, S.Succeeded)).toBe(true);
    expect(path(S.Running, S.Error, S.Retrying, S.Queued)).toBe(true);
    expect(path(S.Succeeded, S.Archived, S.Deleted)).toBe(true);
    expect(path(S.Failed, S.Archived, S.Deleted)).toBe(true);
    expect(path(S.Queued, S.Cancelled)).toBe(true);
    expect(path(S.Running, S.Timeout)).toBe(true);
    expect(transitions[S.Deleted]).toEqual([]);
  });
});

describe('every allowed transition through the store', () => {
  let t: TestDb;
  let store: MongoTaskStore;
  let n = 0;
  beforeAll(async () => {
    t = await openTestDb('transitions');
    store = new MongoTaskStore(t.db, { maxRetries: 3, backoff: { baseMs: 10, capMs: 10 } });
    await store.ensureIndexes();
  });
  afterAll(() => t.drop());

  /** A task placed directly in `status` (and, for leased states, owned by a known lease). */
  async function taskIn(status: JobTaskStatus, attempts = 1, maxRetries = 3): Promise<{ id: string; lease: Lease }> {
    const r = await store.ingest([{ type: 'x', idempotencyKey: `k${n++}`, maxRetries }]);
    const id = r.items[0]!.taskId;
    const leaseToken = `lease-${id}`;
    await store.tasks.updateOne(
      { _id: id },
      {
        $set: {
          status,
          attempts,
          owner: { workerId: 'w', leaseToken, acquiredAt: new Date() },
          heartbeatAt: new Date(),
        },
      },
    );
    return { id, lease: { taskId: id, leaseToken, workerId: 'w', attempt: attempts } };
  }

  const leased: JobTaskStatus[] = [S.Assigned, S.Running];
  const pairs = allStatuses.flatMap((from) => transitions[from].map((to) => [from, to] as const));

  it.each(pairs.map(([from, to]) => [statusName(from), statusName(to), from, to]))(
    '%s -> %s',
    async (_f, _t, from, to) => {
      if (leased.includes(from)) {
        // The owner's (or reclaimer's) operations are the only ways out of a leased state.
        const noneLeft = to === S.Timeout || to === S.Error;
        const { id, lease } = await taskIn(from, noneLeft ? 4 : 1, 3);
        let owned: boolean;
        switch (to) {
          case S.Running:
            owned = (await store.start(lease)).owned;
            break;
          case S.Succeeded:
            owned = (await store.complete(lease, 1)).owned;
            break;
          case S.Error:
            owned = (await store.fail(lease, { message: 'e' })).owned;
            break;
          case S.Retrying:
            owned = (await store.fail(lease, { message: 'e' })).owned;
            break;
          case S.Timeout:
            owned = (await store.timedOut(lease, { message: 't' })).owned;
            break;
          case S.Cancelled:
            owned = (await store.cancelled(lease)).owned;
            break;
          case S.Queued:
            owned = (await store.release(lease)).owned;
            break;
          default:
            throw new Error(`no store operation for ${statusName(from)} -> ${statusName(to)}`);
        }
        expect(owned).toBe(true);
        expect((await store.get(id))!.status).toBe(to);
      } else {
        const { id } = await taskIn(from);
        const before = (await store.get(id))!;
        const after = await store.transition(id, { expectedVersion: before.version, to, by: 'test' });
        expect(after.status).toBe(to);
        expect(after.version).toBe(before.version + 1);
        expect(after.history.at(-1)).toMatchObject({ to, by: 'test' });
      }
    },
  );

  const forbidden: [JobTaskStatus, JobTaskStatus][] = [
    [S.Succeeded, S.Running],
    [S.Deleted, S.Queued],
    [S.Queued, S.Succeeded],
    [S.Archived, S.Queued],
    [S.Error, S.Succeeded],
    [S.Created, S.Queued],
    [S.Pending, S.Running],
    [S.Cancelled, S.Running],
  ];
  it.each(forbidden.map(([f, to]) => [statusName(f), statusName(to), f, to]))(
    'refuses %s -> %s',
    async (_f, _t, from, to) => {
      expect(canTransition(from, to)).toBe(false);
      const { id } = await taskIn(from);
      const before = (await store.get(id))!;
      await expect(store.transition(id, { expectedVersion: before.version, to })).rejects.toBeInstanceOf(
        InvalidTransitionError,
      );
      expect(await store.get(id)).toEqual(before);
    },
  );

  it('refuses lease operations from the wrong state', async () => {
    const assigned = await taskIn(S.Assigned);
    expect(await store.complete(assigned.lease)).toEqual({ owned: false }); // never started
    const running = await taskIn(S.Running);
    expect(await store.start(running.lease)).toEqual({ owned: false }); // already started
    const queued = await taskIn(S.Queued);
    expect(await store.fail(queued.lease, { message: 'x' })).toEqual({ owned: false });
    expect((await store.get(queued.id))!.status).toBe(S.Queued);
  });

  it('does not let a versioned (non-owner) write move a leased task', async () => {
    const running = await taskIn(S.Running);
    const before = (await store.get(running.id))!;
    await expect(
      store.transition(running.id, { expectedVersion: before.version, to: S.Succeeded }),
    ).rejects.toBeInstanceOf(InvalidTransitionError);
    expect(await store.get(running.id)).toEqual(before);
  });
});
