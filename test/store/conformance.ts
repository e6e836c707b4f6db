/**
 * The task-store conformance suite: every TaskStore backend must pass it (BullMQ-style).
 * It drives the store only through the TaskStore interface and asserts outcomes.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import type { NewTask } from '../../lib/tasks/model.js';
import { leaseKey, type ClaimedTask, type TaskStore } from '../../lib/store/task-store.js';
import { VersionConflictError, TaskStateError, TaskStoreError } from '../../lib/store/errors.js';
import { InvalidTransitionError } from '../../lib/tasks/transitions.js';

export interface StoreHarness {
  store: TaskStore;
  /** Empties the store between tests. */
  reset(): Promise<void>;
  /** Ages a task's heartbeat/timestamps by ms (the suite never sleeps). */
  age(
    taskId: string,
    fields: { heartbeatMs?: number; updatedMs?: number; nextAttemptMs?: number; createdMs?: number },
  ): Promise<void>;
  /** The same backend and data, with a task of an ordering key that fails for good blocking its key. */
  blockingStore(): TaskStore;
  /** Makes the backend refuse every later write to this task (as MongoDB refuses a document grown past its size limit). */
  refuseWrites(taskId: string): Promise<void>;
  close(): Promise<void>;
}

const task = (type: string, extra: Partial<NewTask> = {}): NewTask => ({ type, payload: { n: 1 }, ...extra });

export function describeTaskStoreConformance(name: string, factory: () => Promise<StoreHarness>) {
  describe(`TaskStore conformance: ${name}`, () => {
    let h: StoreHarness;
    let store: TaskStore;
    beforeAll(async () => {
      h = await factory();
      store = h.store;
      await store.ensureIndexes();
    });
    afterAll(async () => h?.close());
    beforeEach(async () => h.reset());

    describe('ingest', () => {
      it('stores new tasks as Queued with the subscriber flow in their history', async () => {
        const r = await store.ingest([task('echo', { idempotencyKey: 'k1', priority: 5, maxRetries: 2 })]);
        expect(r).toMatchObject({ inserted: 1, duplicates: 0 });
        const t = await store.get(r.items[0]!.taskId);
        expect(t).toMatchObject({
          type: 'echo',
          status: S.Queued,
          priority: 5,
          maxRetries: 2,
          attempts: 0,
          version: 1,
          owner: null,
          idempotencyKey: 'k1',
        });
        expect(t!.history.map((e) => e.to)).toEqual([S.Created, S.Processing, S.Completed, S.Queued]);
      });

      it('is idempotent: the same key or source message twice yields one task, duplicates counted', async () => {
        const src = { provider: 'mns', queue: 'q', messageId: 'm-1' };
        const a = await store.ingest([
          task('echo', { source: src }),
          task('echo', { idempotencyKey: 'x' }),
          task('echo', { idempotencyKey: 'x' }),
        ]);
        expect(a).toMatchObject({ inserted: 2, duplicates: 1 });
        const b = await store.ingest([task('echo', { source: src }), task('echo', { idempotencyKey: 'y' })]);
        expect(b).toMatchObject({ inserted: 1, duplicates: 1 });
        expect(b.items[0]).toEqual({ taskId: a.items[0]!.taskId, duplicate: true });
        expect((await store.stats()).counts.Queued).toBe(3);
      });

      it('records a rejected message as Failed with its reason; it is never claimed', async () => {
        const r = await store.ingest([task('echo', { failedReason: 'invalid JSON at 1:5' })]);
        const t = await store.get(r.items[0]!.taskId);
        expect(t).toMatchObject({ status: S.Failed, reason: 'invalid JSON at 1:5' });
        expect(t!.history.map((e) => e.to)).toEqual([S.Created, S.Processing, S.Failed]);
        expect(await store.claim('w1')).toEqual([]);
      });
    });

    describe('claim', () => {
      it('takes the highest priority first, then the oldest, and sets owner, lease, Assigned, version and attempts', async () => {
        const r = await store.ingest([
          task('a', { idempotencyKey: 'low' }),
          task('a', { idempotencyKey: 'high', priority: 10 }),
          task('a', { idempotencyKey: 'low2' }),
        ]);
        const [low, high, low2] = r.items.map((i) => i.taskId);
        await h.age(low!, { createdMs: 10_000 });
        const order: string[] = [];
        for (let i = 0; i < 3; i++) {
          const [c] = await store.claim('w1');
          expect(c).toBeDefined();
          order.push(c!.task._id);
          expect(c!.task).toMatchObject({ status: S.Assigned, attempts: 1, version: 2 });
          expect(c!.task.owner).toMatchObject({ workerId: 'w1', leaseToken: c!.lease.leaseToken });
          expect(c!.task.heartbeatAt).toBeInstanceOf(Date);
        }
        expect(order).toEqual([high, low, low2]);
        expect(await store.claim('w1')).toEqual([]);
      });

      it('gives each claim a fresh lease token', async () => {
        await store.ingest([task('a'), task('a')]);
        const [a] = await store.claim('w1');
        const [b] = await store.claim('w1');
        expect(a!.lease.leaseToken).not.toEqual(b!.lease.leaseToken);
      });

      it('skips tasks not yet due and types the worker cannot run', async () => {
        await store.ingest([task('later', { notBefore: new Date(Date.now() + 3_600_000) }), task('other')]);
        expect(await store.claim('w1', { types: ['later', 'mine'] })).toEqual([]);
        const [c] = await store.claim('w1', { types: ['other'] });
        expect(c!.task.type).toBe('other');
      });

      it('batch claim takes up to N in claim order, each once', async () => {
        await store.ingest(Array.from({ length: 7 }, (_, i) => task('b', { priority: i % 3 })));
        const first = await store.claim('w1', { limit: 5 });
        expect(first).toHaveLength(5);
        expect(first.map((c) => c.task.priority)).toEqual([2, 2, 1, 1, 0]);
        for (const c of first)
          expect(c.task).toMatchObject({ status: S.Assigned, attempts: 1, owner: { workerId: 'w1' } });
        const second = await store.claim('w2', { limit: 5 });
        expect(second).toHaveLength(2);
        const ids = new Set([...first, ...second].map((c) => c.task._id));
        expect(ids.size).toBe(7);
      });
    });

    describe('lease-guarded writes', () => {
      it('start, heartbeat, complete: the owner moves the task to Succeeded with its result', async () => {
        await store.ingest([task('a')]);
        const [c] = await store.claim('w1');
        expect(await store.start(c!.lease)).toEqual({ owned: true });
        expect(await store.heartbeat(c!.lease, { progress: { pct: 50 } })).toEqual({
          owned: true,
          cancelRequested: false,
        });
        expect(await store.complete(c!.lease, { ok: 1 })).toEqual({ owned: true });
        const t = await store.get(c!.task._id);
        expect(t).toMatchObject({ status: S.Succeeded, result: { ok: 1 }, progress: { pct: 50 } });
        expect(t!.finishedAt).toBeInstanceOf(Date);
        expect(t!.version).toBe(5);
        // A second complete (or any write) after the end changes nothing.
        expect(await store.complete(c!.lease, { ok: 2 })).toEqual({ owned: false });
        expect((await store.get(c!.task._id))!.result).toEqual({ ok: 1 });
      });

      it('a wrong lease token changes nothing', async () => {
        await store.ingest([task('a')]);
        const [c] = await store.claim('w1');
        const forged = { ...c!.lease, leaseToken: 'not-the-token' };
        expect(await store.start(forged)).toEqual({ owned: false });
        expect(await store.heartbeat(forged)).toEqual({ owned: false, cancelRequested: false });
        expect(await store.fail(forged, { message: 'x' })).toEqual({ owned: false });
        expect(await store.release(forged)).toEqual({ owned: false });
        expect(await store.get(c!.task._id)).toMatchObject({ status: S.Assigned, version: 2 });
      });

      it('fail records the error and retries with backoff while attempts remain, then ends Error', async () => {
        await store.ingest([task('a', { maxRetries: 1 })]);
        const [c1] = await store.claim('w1');
        await store.start(c1!.lease);
        const f1 = await store.fail(c1!.lease, { message: 'boom', stack: 'Error: boom\n at x' });
        expect(f1).toMatchObject({ owned: true, status: S.Retrying });
        expect(f1.nextAttemptAt).toBeInstanceOf(Date);
        let t = await store.get(c1!.task._id);
        expect(t).toMatchObject({ status: S.Retrying, owner: null, attempts: 1 });
        expect(t!.errors).toEqual([
          expect.objectContaining({ message: 'boom', stack: 'Error: boom\n at x', workerId: 'w1', attempt: 1 }),
        ]);
        await h.age(c1!.task._id, { nextAttemptMs: 3_600_000 });
        const [c2] = await store.claim('w2');
        expect(c2!.task).toMatchObject({ _id: c1!.task._id, attempts: 2 });
        await store.start(c2!.lease);
        expect(await store.fail(c2!.lease, { message: 'boom again' })).toMatchObject({ owned: true, status: S.Error });
        t = await store.get(c1!.task._id);
        expect(t).toMatchObject({ status: S.Error });
        expect(t!.errors.map((e) => e.attempt)).toEqual([1, 2]);
        expect(t!.finishedAt).toBeInstanceOf(Date);
      });

      it('a non-retryable failure ends Error at once', async () => {
        await store.ingest([task('a', { maxRetries: 5 })]);
        const [c] = await store.claim('w1');
        expect(
          await store.fail(c!.lease, { message: 'unknown type a', kind: 'UnknownTaskType' }, { retryable: false }),
        ).toMatchObject({ owned: true, status: S.Error });
      });

      it('timedOut retries while attempts remain, then ends Timeout', async () => {
        await store.ingest([task('a', { maxRetries: 0 })]);
        const [c] = await store.claim('w1');
        await store.start(c!.lease);
        expect(await store.timedOut(c!.lease, { message: 'handler exceeded 10 ms' })).toMatchObject({
          owned: true,
          status: S.Timeout,
        });
        expect((await store.get(c!.task._id))!.errors[0]).toMatchObject({ kind: 'Timeout' });
      });

      it('release gives the task back as Queued without counting the attempt', async () => {
        await store.ingest([task('a')]);
        const [c] = await store.claim('w1');
        await store.start(c!.lease);
        expect(await store.release(c!.lease, 'shutdown')).toEqual({ owned: true, status: S.Queued });
        expect(await store.get(c!.task._id)).toMatchObject({ status: S.Queued, attempts: 0, owner: null });
        const [again] = await store.claim('w2');
        expect(again!.task).toMatchObject({ _id: c!.task._id, attempts: 1 });
      });

      it('starts and completes issued together (one batch, other claims, lost leases, mixed results) each get their own answer', async () => {
        await store.ingest(Array.from({ length: 6 }, () => task('a')));
        const batch = await store.claim('w1', { limit: 4 });
        const [single] = await store.claim('w2');
        const [other] = await store.claim('w3');
        expect(batch).toHaveLength(4);
        // A forged token among real ones is refused; the others, of three tokens, all start.
        const cancelled = batch[1]!;
        const forged = { ...batch[2]!.lease, leaseToken: 'not-the-token' };
        const started = await Promise.all(
          [batch[0]!.lease, cancelled.lease, forged, batch[3]!.lease, single!.lease, other!.lease].map((l) =>
            store.start(l),
          ),
        );
        expect(started.map((r) => r.owned)).toEqual([true, true, false, true, true, true]);
        await store.cancel(cancelled.task._id);
        await h.age(other!.task._id, { heartbeatMs: 60_000 });
        expect(await store.reclaim({ heartbeatTimeoutMs: 30_000 })).toMatchObject({
          retried: 1,
          taskIds: [other!.task._id],
        });
        // Complete all together: nulls of one token coalesce, results differ per task, the reclaimed one is lost.
        const done = await Promise.all([
          store.complete(batch[0]!.lease),
          store.complete(batch[3]!.lease, { n: 3 }),
          store.complete(single!.lease, 'single'),
          store.complete(other!.lease, 'stale'),
          store.complete(cancelled.lease),
        ]);
        expect(done.map((r) => r.owned)).toEqual([true, true, true, false, true]);
        expect(await store.get(batch[0]!.task._id)).toMatchObject({
          status: S.Succeeded,
          result: null,
          owner: { workerId: 'w1' },
        });
        expect(await store.get(batch[3]!.task._id)).toMatchObject({ status: S.Succeeded, result: { n: 3 } });
        expect(await store.get(single!.task._id)).toMatchObject({
          status: S.Succeeded,
          result: 'single',
          owner: { workerId: 'w2' },
        });
        expect(await store.get(other!.task._id)).toMatchObject({ status: S.Retrying, owner: null });
        expect(await store.get(batch[2]!.task._id)).toMatchObject({ status: S.Assigned });
        // Cancel was only requested (the task was Running): its owner may still complete it.
        expect(await store.get(cancelled.task._id)).toMatchObject({ status: S.Succeeded, cancelRequested: true });
        for (const c of [batch[0]!, batch[3]!, single!]) {
          expect((await store.get(c.task._id))!.history.slice(-2).map((e) => [e.from, e.to])).toEqual([
            [S.Assigned, S.Running],
            [S.Running, S.Succeeded],
          ]);
        }
      });

      it('heartbeatMany refreshes every owned lease and reports lost ones', async () => {
        await store.ingest([task('a'), task('a'), task('a')]);
        const claimed = await store.claim('w1', { limit: 3 });
        await store.cancel(claimed[1]!.task._id);
        const lost = { ...claimed[2]!.lease, leaseToken: 'gone' };
        const res = await store.heartbeatMany([claimed[0]!.lease, claimed[1]!.lease, lost]);
        expect(res.get(leaseKey(claimed[0]!.lease))).toEqual({ owned: true, cancelRequested: false });
        expect(res.get(leaseKey(claimed[1]!.lease))).toEqual({ owned: true, cancelRequested: true });
        expect(res.get(leaseKey(lost))).toEqual({ owned: false, cancelRequested: false });
      });
    });

    describe('write ids: a retried lease write knows its own earlier try', () => {
      const once = (id: string) => ({ writeId: id });

      it('a retried write with the same write id after it applied says owned, and changes nothing more', async () => {
        await store.ingest([
          task('a', { maxRetries: 0 }),
          task('a', { maxRetries: 1 }),
          task('a'),
          task('a'),
          task('a'),
        ]);
        const [toComplete, toTimeOut, toFail, toCancel, toRelease] = await store.claim('w1', { limit: 5 });
        for (const c of [toComplete!, toTimeOut!, toFail!, toCancel!, toRelease!]) {
          expect(await store.start(c.lease, once(`start-${c.task._id}`))).toEqual({ owned: true });
          expect(await store.start(c.lease, once(`start-${c.task._id}`))).toEqual({ owned: true });
        }
        expect(await store.complete(toComplete!.lease, { n: 1 }, once('c'))).toEqual({ owned: true });
        expect(await store.complete(toComplete!.lease, { n: 1 }, once('c'))).toEqual({ owned: true });
        expect(await store.timedOut(toTimeOut!.lease, { message: 'slow' }, once('t'))).toMatchObject({
          owned: true,
          status: S.Timeout,
        });
        expect(await store.timedOut(toTimeOut!.lease, { message: 'slow' }, once('t'))).toMatchObject({
          owned: true,
          status: S.Timeout,
        });
        expect(await store.fail(toFail!.lease, { message: 'boom' }, once('f'))).toMatchObject({
          owned: true,
          status: S.Retrying,
        });
        expect(await store.fail(toFail!.lease, { message: 'boom' }, once('f'))).toMatchObject({
          owned: true,
          status: S.Retrying,
        });
        expect(await store.cancelled(toCancel!.lease, 'asked', once('x'))).toEqual({ owned: true });
        expect(await store.cancelled(toCancel!.lease, 'asked', once('x'))).toEqual({ owned: true });
        expect(await store.release(toRelease!.lease, 'stopping', once('r'))).toEqual({ owned: true, status: S.Queued });
        expect(await store.release(toRelease!.lease, 'stopping', once('r'))).toEqual({ owned: true, status: S.Queued });
        const ends = {
          [toComplete!.task._id]: S.Succeeded,
          [toTimeOut!.task._id]: S.Timeout,
          [toFail!.task._id]: S.Retrying,
          [toCancel!.task._id]: S.Cancelled,
          [toRelease!.task._id]: S.Queued,
        };
        for (const [id, status] of Object.entries(ends)) {
          const t = (await store.get(id))!;
          expect(t.status).toBe(status);
          // One start and one end each: the second tries changed nothing.
          expect(t.history.slice(-2).map((e) => e.to)).toEqual([S.Running, status]);
          expect(t.version).toBe(4);
        }
        expect((await store.get(toFail!.task._id))!.errors).toHaveLength(1);
        expect(await store.get(toRelease!.task._id)).toMatchObject({ attempts: 0, owner: null });
      });

      it('a second holder of the same lease token with another write id is told not owned', async () => {
        await store.ingest([task('a', { maxRetries: 2 }), task('a')]);
        const [failing, completing] = await store.claim('w1', { limit: 2 });
        await store.start(failing!.lease, once('s1'));
        await store.start(completing!.lease, once('s2'));
        expect(await store.start(failing!.lease, once('other'))).toEqual({ owned: false });
        expect(await store.fail(failing!.lease, { message: 'first' }, once('mine'))).toMatchObject({
          owned: true,
          status: S.Retrying,
        });
        expect(await store.fail(failing!.lease, { message: 'second' }, once('theirs'))).toEqual({ owned: false });
        expect(await store.release(failing!.lease, 'stopping', once('theirs-too'))).toEqual({ owned: false });
        expect(await store.complete(completing!.lease, 'first', once('mine'))).toEqual({ owned: true });
        expect(await store.complete(completing!.lease, 'second', once('theirs'))).toEqual({ owned: false });
        expect(await store.cancelled(completing!.lease, 'late', once('theirs-too'))).toEqual({ owned: false });
        expect((await store.get(failing!.task._id))!.errors.map((e) => e.message)).toEqual(['first']);
        expect(await store.get(completing!.task._id)).toMatchObject({ status: S.Succeeded, result: 'first' });
      });

      it('two holders of one lease writing in the same turn: exactly one is told owned, the one whose write landed', async () => {
        await store.ingest([task('a')]);
        const [c] = await store.claim('w1');
        const starts = await Promise.all([store.start(c!.lease, once('a1')), store.start(c!.lease, once('b1'))]);
        expect(starts.filter((r) => r.owned)).toHaveLength(1);
        const dones = await Promise.all([
          store.complete(c!.lease, undefined, once('a2')),
          store.complete(c!.lease, null, once('b2')),
        ]);
        expect(dones.filter((r) => r.owned)).toHaveLength(1);
        const t = (await store.get(c!.task._id))!;
        expect(t.status).toBe(S.Succeeded);
        expect(t.history.filter((e) => e.to === S.Running || e.to === S.Succeeded)).toHaveLength(2);
        expect(t.version).toBe(4);
      });

      it('one refused document in a coalesced turn fails only its own caller', async () => {
        await store.ingest([task('a'), task('a'), task('a')]);
        const claimed = await store.claim('w1', { limit: 3 });
        expect(claimed).toHaveLength(3);
        const bad = claimed[1]!;
        await h.refuseWrites(bad.task._id);
        const started = await Promise.allSettled(claimed.map((c) => store.start(c.lease)));
        expect(started.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
        expect(started.filter((r) => r.status === 'fulfilled').map((r) => r.value)).toEqual([
          { owned: true },
          { owned: true },
        ]);
        const refusal = (started[1] as PromiseRejectedResult).reason as unknown;
        expect(refusal).toBeInstanceOf(TaskStoreError);
        expect(refusal).toMatchObject({ taskId: bad.task._id });
        // The others go on; the refused task never started, so its completion matches nothing.
        const good = [claimed[0]!, claimed[2]!];
        const done = await Promise.all([...good.map((c) => store.complete(c.lease)), store.complete(bad.lease)]);
        expect(done.map((r) => r.owned)).toEqual([true, true, false]);
        for (const c of good) expect(await store.get(c.task._id)).toMatchObject({ status: S.Succeeded });
        expect(await store.get(bad.task._id)).toMatchObject({ status: S.Assigned });
      });
    });

    describe('a cancel request is never dropped; one retry limit; answers per lease (issue 19)', () => {
      /** A running task whose operator asked to cancel it: the answer is `requested`. */
      const runningCancelRequested = async () => {
        await store.ingest([task('a', { maxRetries: 3 })]);
        const [c] = await store.claim('w1');
        await store.start(c!.lease);
        expect((await store.cancel(c!.task._id)).outcome).toBe('requested');
        return c!;
      };

      it('a retryable failure, a timeout, a release each end a cancel-requested task Cancelled; nobody claims it', async () => {
        const failed = await runningCancelRequested();
        expect(await store.fail(failed.lease, { message: 'transient' })).toEqual({ owned: true, status: S.Cancelled });
        const timedOut = await runningCancelRequested();
        expect(await store.timedOut(timedOut.lease, { message: 'slow' })).toEqual({ owned: true, status: S.Cancelled });
        const released = await runningCancelRequested();
        const once = { writeId: 'end-1' };
        expect(await store.release(released.lease, 'stopping', once)).toEqual({ owned: true, status: S.Cancelled });
        expect(await store.release(released.lease, 'stopping', once)).toEqual({ owned: true, status: S.Cancelled });
        for (const c of [failed, timedOut, released])
          expect(await store.get(c.task._id)).toMatchObject({ status: S.Cancelled, cancelRequested: true });
        expect(await store.claim('w2')).toEqual([]);
      });

      it('the reclaimer ends a stalled, cancel-requested task Cancelled', async () => {
        const c = await runningCancelRequested();
        await h.age(c.task._id, { heartbeatMs: 60_000 });
        const r = await store.reclaim({ heartbeatTimeoutMs: 30_000 });
        expect(r).toMatchObject({ found: 1, retried: 0, cancelled: 1, failed: 0, taskIds: [c.task._id] });
        expect(await store.get(c.task._id)).toMatchObject({ status: S.Cancelled, owner: null });
        expect(await store.claim('w2')).toEqual([]);
      });

      it('an operator sending a cancelled task back to a claimable state clears the request', async () => {
        await store.ingest([task('a')]);
        const [c] = await store.claim('w1');
        await store.cancel(c!.task._id);
        await store.cancelled(c!.lease);
        const cancelled = (await store.get(c!.task._id))!;
        await store.transition(c!.task._id, { expectedVersion: cancelled.version, to: S.Retrying });
        const [again] = await store.claim('w2');
        expect(again!.task.cancelRequested).toBe(false);
      });

      it("start records the handler's retry limit, per caller of a turn; the reclaimer uses it", async () => {
        await store.ingest([task('a', { maxRetries: 5 }), task('a', { maxRetries: 5 })]);
        const [once, other] = await store.claim('w1', { limit: 2 });
        await Promise.all([store.start(once!.lease, { maxRetries: 0 }), store.start(other!.lease)]);
        expect((await store.get(other!.task._id))!.maxRetries).toBe(5);
        expect((await store.get(once!.task._id))!.maxRetries).toBe(0);
        await h.age(once!.task._id, { heartbeatMs: 60_000 });
        expect(await store.reclaim({ heartbeatTimeoutMs: 30_000 })).toMatchObject({ retried: 0, timedOut: 1 });
        expect(await store.get(once!.task._id)).toMatchObject({ status: S.Timeout, attempts: 1 });
      });

      it('heartbeatMany answers per lease: an old lease of a task is lost, the new one held', async () => {
        await store.ingest([task('a', { maxRetries: 3 })]);
        const [old] = await store.claim('w1');
        await store.start(old!.lease);
        await h.age(old!.task._id, { heartbeatMs: 60_000 });
        await store.reclaim({ heartbeatTimeoutMs: 30_000 });
        await h.age(old!.task._id, { nextAttemptMs: 3_600_000 });
        const [fresh] = await store.claim('w1');
        expect(fresh!.task._id).toBe(old!.task._id);
        const res = await store.heartbeatMany([fresh!.lease, old!.lease]);
        expect(res.get(leaseKey(old!.lease))).toEqual({ owned: false, cancelRequested: false });
        expect(res.get(leaseKey(fresh!.lease))).toEqual({ owned: true, cancelRequested: false });
      });
    });

    describe('fencing after reclaim', () => {
      it('the old owner can neither heartbeat, complete nor fail; the new owner finishes', async () => {
        await store.ingest([task('a', { maxRetries: 3 })]);
        const [old] = await store.claim('w-old');
        await store.start(old!.lease);
        await h.age(old!.task._id, { heartbeatMs: 60_000 });
        const r = await store.reclaim({ heartbeatTimeoutMs: 30_000 });
        expect(r).toMatchObject({ found: 1, retried: 1, timedOut: 0, lostRaces: 0, taskIds: [old!.task._id] });
        await h.age(old!.task._id, { nextAttemptMs: 3_600_000 });
        const [fresh] = await store.claim('w-new');
        expect(fresh!.task._id).toBe(old!.task._id);
        await store.start(fresh!.lease);
        const before = await store.get(old!.task._id);
        expect(await store.heartbeat(old!.lease)).toEqual({ owned: false, cancelRequested: false });
        expect(await store.complete(old!.lease, 'stale')).toEqual({ owned: false });
        expect(await store.fail(old!.lease, { message: 'stale' })).toEqual({ owned: false });
        expect(await store.release(old!.lease)).toEqual({ owned: false });
        expect(await store.get(old!.task._id)).toEqual(before);
        expect(await store.complete(fresh!.lease, 'fresh')).toEqual({ owned: true });
        expect(await store.get(old!.task._id)).toMatchObject({
          status: S.Succeeded,
          result: 'fresh',
          owner: { workerId: 'w-new' },
        });
      });

      it('reclaim with no attempts left ends Timeout; concurrent reclaimers reclaim each task once', async () => {
        await store.ingest([task('a', { maxRetries: 0 }), task('a', { maxRetries: 0 }), task('a', { maxRetries: 0 })]);
        const claimed = await store.claim('w1', { limit: 3 });
        for (const c of claimed) await h.age(c.task._id, { heartbeatMs: 60_000 });
        const results = await Promise.all([1, 2, 3].map(() => store.reclaim({ heartbeatTimeoutMs: 30_000 })));
        expect(results.reduce((n, r) => n + r.timedOut, 0)).toBe(3);
        expect(results.reduce((n, r) => n + r.retried, 0)).toBe(0);
        for (const c of claimed) {
          const t = await store.get(c.task._id);
          expect(t).toMatchObject({ status: S.Timeout, owner: null });
          expect(t!.errors).toHaveLength(1);
        }
      });

      it('does not reclaim a task whose heartbeat is fresh', async () => {
        await store.ingest([task('a')]);
        const [c] = await store.claim('w1');
        expect(await store.reclaim({ heartbeatTimeoutMs: 30_000 })).toMatchObject({ found: 0, retried: 0 });
        expect(await store.get(c!.task._id)).toMatchObject({ status: S.Assigned });
      });
    });

    describe('optimistic concurrency', () => {
      it('a versioned write with a stale version is refused with a typed conflict', async () => {
        const r = await store.ingest([task('a')]);
        const id = r.items[0]!.taskId;
        const t = (await store.get(id))!;
        // Two writers read version 1; the first wins, the second gets a conflict and changes nothing.
        const first = await store.transition(id, { expectedVersion: t.version, to: S.Cancelled, by: 'op-1' });
        expect(first).toMatchObject({ status: S.Cancelled, version: 2 });
        const second = store.transition(id, { expectedVersion: t.version, to: S.Cancelled, by: 'op-2' });
        await expect(second).rejects.toBeInstanceOf(VersionConflictError);
        await expect(second).rejects.toMatchObject({ taskId: id, expectedVersion: 1, actualVersion: 2 });
        expect(await store.get(id)).toMatchObject({ version: 2 });
      });

      it('refuses a transition the table forbids', async () => {
        const r = await store.ingest([task('a')]);
        const id = r.items[0]!.taskId;
        await expect(store.transition(id, { expectedVersion: 1, to: S.Succeeded })).rejects.toBeInstanceOf(
          InvalidTransitionError,
        );
        expect(await store.get(id)).toMatchObject({ status: S.Queued, version: 1 });
      });
    });

    describe('cancel and retry', () => {
      it('cancels a waiting task at once and requests cancel of a running one', async () => {
        const r = await store.ingest([
          task('a', { idempotencyKey: 'wait' }),
          task('a', { idempotencyKey: 'run', priority: 9 }),
        ]);
        const [running] = await store.claim('w1');
        expect(running!.task.idempotencyKey).toBe('run');
        await store.start(running!.lease);
        const waiting = await store.cancel(r.items[0]!.taskId, { by: 'op' });
        expect(waiting.outcome).toBe('cancelled');
        expect(waiting.task).toMatchObject({ status: S.Cancelled });
        const req = await store.cancel(running!.task._id, { by: 'op' });
        expect(req.outcome).toBe('requested');
        expect(await store.heartbeat(running!.lease)).toEqual({ owned: true, cancelRequested: true });
        expect(await store.cancelled(running!.lease)).toEqual({ owned: true });
        expect(await store.get(running!.task._id)).toMatchObject({ status: S.Cancelled });
        expect((await store.cancel(running!.task._id)).outcome).toBe('already-finished');
        expect((await store.cancel('nope')).outcome).toBe('not-found');
      });

      it('an operator retry sends an errored task back, allowing one more attempt; a succeeded one is refused', async () => {
        await store.ingest([task('a', { maxRetries: 0 }), task('a', { idempotencyKey: 'ok' })]);
        const [c] = await store.claim('w1');
        await store.fail(c!.lease, { message: 'x' });
        const retried = await store.retry(c!.task._id, { by: 'op' });
        expect(retried).toMatchObject({ status: S.Retrying, owner: null });
        const [again] = await store.claim('w1');
        expect(again!.task).toMatchObject({ _id: c!.task._id, attempts: 2 });
        await store.start(again!.lease);
        expect(await store.fail(again!.lease, { message: 'y' })).toMatchObject({ status: S.Error });
        const [ok] = await store.claim('w1');
        await store.start(ok!.lease);
        await store.complete(ok!.lease);
        await expect(store.retry(ok!.task._id)).rejects.toBeInstanceOf(TaskStateError);
      });
    });

    describe('ordering keys', () => {
      const keyed = (key: string, n: number, extra: Partial<NewTask> = {}) =>
        Array.from({ length: n }, (_, i) => task('o', { orderingKey: key, payload: { key, i }, ...extra }));
      /** Claims everything claimable now, in one batch. */
      const claimAll = (w = 'w1') => store.claim(w, { limit: 100 });
      const finish = async (c: ClaimedTask) => {
        expect(await store.start(c.lease)).toEqual({ owned: true });
        expect(await store.complete(c.lease)).toEqual({ owned: true });
      };
      const payloadOf = (c: ClaimedTask) => c.task.payload as { key: string; i: number };

      it('only the head of each key is claimable; the next gets its turn when it finishes, in ingest order', async () => {
        await store.ingest([...keyed('a', 2), ...keyed('b', 1), task('free'), task('free')]);
        await store.ingest(keyed('a', 2).map((t, i) => ({ ...t, payload: { key: 'a', i: i + 2 } })));
        const first = await claimAll();
        expect(first.map((c) => c.task.type).sort()).toEqual(['free', 'free', 'o', 'o']);
        const heads = first.filter((c) => c.task.type === 'o');
        expect(heads.map(payloadOf).sort((x, y) => x.key.localeCompare(y.key))).toEqual([
          { key: 'a', i: 0 },
          { key: 'b', i: 0 },
        ]);
        expect(heads.every((c) => c.lease.orderingKey === payloadOf(c).key)).toBe(true);
        expect(await claimAll()).toEqual([]);
        const order: number[] = [];
        let head = heads.find((c) => payloadOf(c).key === 'a')!;
        for (;;) {
          order.push(payloadOf(head).i);
          await finish(head);
          const next = await claimAll();
          if (next.length === 0) break;
          expect(next).toHaveLength(1);
          head = next[0]!;
        }
        expect(order).toEqual([0, 1, 2, 3]);
        expect((await store.orderingKeys()).find((k) => k.key === 'a')).toMatchObject({
          activeTaskId: null,
          blocked: false,
          seq: 4,
        });
      });

      it('a retry keeps the turn; a head that fails for good passes it on (Ordering:OnFailure=continue)', async () => {
        await store.ingest(keyed('k', 3, { maxRetries: 1 }));
        const [c1] = await claimAll();
        await store.start(c1!.lease);
        expect(await store.fail(c1!.lease, { message: 'boom' })).toMatchObject({ status: S.Retrying });
        await h.age(c1!.task._id, { nextAttemptMs: 3_600_000 });
        const [again] = await claimAll();
        expect(again!.task._id).toBe(c1!.task._id);
        await store.start(again!.lease);
        expect(await store.fail(again!.lease, { message: 'boom' })).toMatchObject({ status: S.Error });
        const [c2] = await claimAll();
        expect(payloadOf(c2!).i).toBe(1);
        expect(await store.orderingKeys({ blocked: true })).toEqual([]);
      });

      it('with Ordering:OnFailure=block a failed head blocks its key until an operator retries it or unblocks the key', async () => {
        const blocking = h.blockingStore();
        await blocking.ingest(keyed('blk', 3, { maxRetries: 0 }));
        const [c1] = await blocking.claim('w1', { limit: 10 });
        await blocking.start(c1!.lease);
        expect(await blocking.fail(c1!.lease, { message: 'boom' })).toMatchObject({ status: S.Error });
        expect(await blocking.claim('w1', { limit: 10 })).toEqual([]);
        expect(await blocking.orderingKeys({ blocked: true })).toMatchObject([
          { key: 'blk', activeTaskId: c1!.task._id, blocked: true },
        ]);
        // An operator's retry runs the failed task again, still first.
        await blocking.retry(c1!.task._id, { by: 'op' });
        expect(await blocking.orderingKeys({ blocked: true })).toEqual([]);
        const [again] = await blocking.claim('w1', { limit: 10 });
        expect(again!.task._id).toBe(c1!.task._id);
        await blocking.start(again!.lease);
        await blocking.fail(again!.lease, { message: 'boom again' });
        expect((await blocking.orderingKeys({ blocked: true })).map((k) => k.key)).toEqual(['blk']);
        // Unblocking passes over it.
        expect(await blocking.unblockKey('blk')).toMatchObject({ outcome: 'unblocked', state: { blocked: false } });
        const [c2] = await blocking.claim('w1', { limit: 10 });
        expect(payloadOf(c2!).i).toBe(1);
        expect((await blocking.unblockKey('blk')).outcome).toBe('not-blocked');
        expect((await blocking.unblockKey('nope')).outcome).toBe('not-found');
      });

      it('a cancelled waiting task is skipped; a cancelled head passes the turn; a refused message takes no place', async () => {
        const r = await store.ingest([
          ...keyed('c', 3),
          task('o', { orderingKey: 'c', failedReason: 'SchemaViolation: x' }),
          ...keyed('c', 1).map((t) => ({ ...t, payload: { key: 'c', i: 3 } })),
        ]);
        const ids = r.items.map((i) => i.taskId);
        expect((await store.cancel(ids[1]!)).outcome).toBe('cancelled');
        expect((await store.cancel(ids[0]!)).outcome).toBe('cancelled');
        const [next] = await claimAll();
        expect(payloadOf(next!).i).toBe(2);
        await finish(next!);
        const [last] = await claimAll();
        expect(payloadOf(last!).i).toBe(3);
        expect(await store.get(ids[3]!)).toMatchObject({ status: S.Failed, orderingKey: 'c' });
      });

      it('a reclaimed head keeps the turn while it retries and passes it on when it times out for good', async () => {
        await store.ingest(keyed('r', 2, { maxRetries: 1 }));
        const [c1] = await claimAll();
        await h.age(c1!.task._id, { heartbeatMs: 600_000 });
        expect(await store.reclaim({ heartbeatTimeoutMs: 60_000 })).toMatchObject({ retried: 1 });
        await h.age(c1!.task._id, { nextAttemptMs: 3_600_000 });
        const [again] = await claimAll();
        expect(again!.task._id).toBe(c1!.task._id);
        await h.age(c1!.task._id, { heartbeatMs: 600_000 });
        expect(await store.reclaim({ heartbeatTimeoutMs: 60_000 })).toMatchObject({ timedOut: 1 });
        const [c2] = await claimAll();
        expect(payloadOf(c2!).i).toBe(1);
      });

      it('an ingest racing the head finishing never leaves the key without a runnable task', async () => {
        for (let round = 0; round < 20; round++) {
          const key = `race-${round}`;
          await store.ingest(keyed(key, 1));
          const [head] = await store.claim('w1', { limit: 100 });
          await store.start(head!.lease);
          await Promise.all([store.complete(head!.lease), store.ingest(keyed(key, 1))]);
          const [next] = await store.claim('w1', { limit: 100 });
          expect(next?.task.orderingKey, `round ${round}`).toBe(key);
          await finish(next!);
          expect(await store.claim('w1', { limit: 100 })).toEqual([]);
        }
      });
    });

    describe('dead-letter marks', () => {
      it('one sender claims a finished task per run; a stale claim is taken over; a retried run is claimable again', async () => {
        await store.ingest([task('a', { maxRetries: 0 }), task('b', { idempotencyKey: 'waiting' })]);
        const [c] = await store.claim('w1', { types: ['a'] });
        await store.start(c!.lease);
        await store.fail(c!.lease, { message: 'x' });
        const failed = (await store.get(c!.task._id))!;
        const waiting = (await store.list({ status: [S.Queued] })).tasks[0]!;
        // Only Error/Timeout tasks; of those, only the unsent.
        expect(await store.deadLetters.claim(waiting, { token: 't0', queue: 'q' }, { staleMs: 60_000 })).toBeNull();
        expect((await store.deadLetters.due(new Date(0), 10)).map((t) => t._id)).toEqual([failed._id]);
        const claims = await Promise.all(
          ['t1', 't2', 't3'].map((token) =>
            store.deadLetters.claim(failed, { token, queue: 'q' }, { staleMs: 60_000 }),
          ),
        );
        const winners = claims.filter((x) => x !== null);
        expect(winners).toHaveLength(1);
        const token = winners[0]!.deadLetter!.token;
        // A live claim is not taken over; a stale one is (its sender died between claim and send).
        expect(await store.deadLetters.claim(failed, { token: 't4', queue: 'q' }, { staleMs: 60_000 })).toBeNull();
        const takeover = await store.deadLetters.claim(failed, { token: 't5', queue: 'q' }, { staleMs: -1 });
        expect(takeover?.deadLetter).toMatchObject({ state: 'sending', token: 't5', attempts: 1 });
        expect(await store.deadLetters.markSent(failed._id, token, 'm-old')).toBe(false);
        expect(await store.deadLetters.markSent(failed._id, 't5', 'm-1')).toBe(true);
        expect(await store.deadLetters.due(new Date(0), 10)).toEqual([]);
        expect((await store.deadLetters.sent(10)).map((t) => t._id)).toEqual([failed._id]);
        expect(await store.deadLetters.claim(failed, { token: 't6', queue: 'q' }, { staleMs: -1 })).toBeNull();
        expect(await store.deadLetters.markReplayed(failed._id, 'm-2')).toBe(true);
        // An operator's retry is a new run: if it fails again it is dead-lettered again.
        await store.retry(failed._id, { by: 'op' });
        const [again] = await store.claim('w1', { types: ['a'] });
        await store.start(again!.lease);
        await store.fail(again!.lease, { message: 'y' });
        const second = (await store.get(failed._id))!;
        expect(second.deadLetter ?? null).toBeNull();
        expect(await store.deadLetters.claim(second, { token: 't7', queue: 'q' }, { staleMs: 60_000 })).toMatchObject({
          deadLetter: { attempts: 2 },
        });
      });
    });

    describe('retention and stats', () => {
      it('archives old finished tasks, deletes old archived ones, purges old deleted ones', async () => {
        await store.ingest([task('a'), task('a'), task('a', { idempotencyKey: 'recent' })]);
        const claimed = await store.claim('w1', { limit: 3 });
        for (const c of claimed) {
          await store.start(c.lease);
          await store.complete(c.lease);
        }
        const recent = claimed.find((c) => c.task.idempotencyKey === 'recent')!;
        for (const c of claimed) if (c !== recent) await h.age(c.task._id, { updatedMs: 10 * 86_400_000 });
        const opts = { archiveAfterMs: 7 * 86_400_000, deleteAfterMs: 86_400_000, purgeAfterMs: 86_400_000 };
        expect(await store.applyRetention(opts)).toEqual({ archived: 2, deleted: 0, purged: 0 });
        expect(await store.applyRetention(opts)).toEqual({ archived: 0, deleted: 0, purged: 0 });
        const old = claimed.filter((c) => c !== recent).map((c) => c.task._id);
        for (const id of old) await h.age(id, { updatedMs: 2 * 86_400_000 });
        expect(await store.applyRetention(opts)).toEqual({ archived: 0, deleted: 2, purged: 0 });
        expect(await store.get(old[0]!)).toMatchObject({ status: S.Deleted });
        for (const id of old) await h.age(id, { updatedMs: 2 * 86_400_000 });
        expect(await store.applyRetention(opts)).toEqual({ archived: 0, deleted: 0, purged: 2 });
        expect(await store.get(old[0]!)).toBeNull();
        expect(await store.get(recent.task._id)).toMatchObject({ status: S.Succeeded });
      });

      it('counts by status and reports the oldest claimable age', async () => {
        const r = await store.ingest([task('a'), task('a'), task('a')]);
        await h.age(r.items[0]!.taskId, { nextAttemptMs: 60_000 });
        const [c] = await store.claim('w1');
        // A second ahead: the tasks' due times are the database server's clock, which may run a little ahead of ours.
        const now = new Date(Date.now() + 1_000);
        const s = await store.stats(now);
        expect(s.counts).toMatchObject({ Queued: 2, Assigned: 1, Succeeded: 0 });
        expect(s.total).toBe(3);
        expect(c!.task._id).toBe(r.items[0]!.taskId);
        expect(s.oldestClaimableAgeMs).not.toBeNull();
        expect(s.oldestClaimableAgeMs!).toBeLessThan(60_000);
        expect((await store.stats(new Date(now.getTime() + 120_000))).oldestClaimableAgeMs!).toBeGreaterThanOrEqual(
          120_000,
        );
      });

      it('lists newest first with filters and a cursor that visits each task once', async () => {
        const r = await store.ingest(
          Array.from({ length: 12 }, (_, i) => task(i % 2 ? 'odd' : 'even', { idempotencyKey: `l${i}` })),
        );
        for (let i = 0; i < r.items.length; i++) await h.age(r.items[i]!.taskId, { createdMs: (12 - i) * 1000 });
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const page = await store.list({}, { limit: 5, cursor });
          seen.push(...page.tasks.map((t) => t.idempotencyKey));
          cursor = page.nextCursor;
        } while (cursor);
        expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => `l${11 - i}`));
        const first = await store.list({}, { limit: 5 });
        expect(store.isValidCursor(first.nextCursor!)).toBe(true);
        expect(store.isValidCursor('not-a-cursor')).toBe(false);
        const odd = await store.list({ type: 'odd' }, { limit: 100 });
        expect(odd.tasks.map((t) => t.idempotencyKey)).toEqual(['l11', 'l9', 'l7', 'l5', 'l3', 'l1']);
        const [c] = await store.claim('wl');
        const byWorker = await store.list({ workerId: 'wl' });
        expect(byWorker.tasks.map((t) => t._id)).toEqual([c!.task._id]);
        expect((await store.list({ status: [S.Assigned] })).tasks).toHaveLength(1);
      });
    });
  });
}
