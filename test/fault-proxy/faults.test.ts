/**
 * Each fault against the real driver and server: what the driver surfaces (error class, code, labels), whether
 * it retried, and what the database really holds afterwards (read directly, around the proxy).
 *
 * What the driver does depends on the server. mongo-java-server is a standalone reporting wire version 8
 * (MongoDB 4.2) without sessions: the driver retries reads, never writes, and labels step-down errors
 * RetryableWriteError itself. A replica set (MONGODB_URI) retries writes once; a 4.4+ server labels errors
 * itself. The expectations below follow `server` so the suite holds on both.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  MongoBulkWriteError,
  MongoNetworkError,
  MongoNetworkTimeoutError,
  MongoServerError,
  MongoServerSelectionError,
  type Collection,
} from 'mongodb';
import { openProxiedDb, rejection, type ProxiedDb } from './support.js';

interface Doc {
  _id: string;
  v?: number;
}

describe('fault proxy: faults as the driver sees them', () => {
  let t: ProxiedDb;
  let coll: Collection<Doc>;
  const stored = (id: string) => t.direct.db.collection<Doc>('items').findOne({ _id: id });
  const attempts = async (command: string) => (await t.proxy.counters()).requests.byCommand[command] ?? 0;

  beforeEach(async () => {
    t = await openProxiedDb('fp_fault');
    coll = (await t.client({ serverSelectionTimeoutMS: 30_000 })).db(t.direct.name).collection<Doc>('items');
    await coll.insertOne({ _id: 'seed', v: 0 });
  });
  afterEach(() => t.close());

  it('delayRequest and delayReply: the operation completes; the counters record the delays', async () => {
    await t.proxy.addRule({
      id: 'slow-insert',
      match: { command: 'insert' },
      fault: { kind: 'delayRequest', ms: 200 },
    });
    await t.proxy.addRule({ id: 'slow-find', match: { command: 'find' }, fault: { kind: 'delayReply', ms: 200 } });
    await coll.insertOne({ _id: 'late', v: 1 });
    expect(await coll.findOne({ _id: 'late' })).toEqual({ _id: 'late', v: 1 });
    const c = await t.proxy.counters();
    expect(c.faults).toMatchObject({ delayRequest: 1, delayReply: 1 });
    expect(c.rules.map((r) => [r.id, r.injected])).toEqual([
      ['slow-insert', 1],
      ['slow-find', 1],
    ]);
  });

  it('a reply held past socketTimeoutMS: MongoNetworkTimeoutError, and the write applied', async () => {
    const impatient = (await t.client({ socketTimeoutMS: 2_000 })).db(t.direct.name).collection<Doc>('items');
    await t.proxy.addRule({
      match: { command: 'insert', collection: 'items' },
      fault: { kind: 'delayReply', ms: 60_000 },
      count: 1,
    });
    const err = await rejection(impatient.insertOne({ _id: 'timed-out', v: 1 }), MongoNetworkTimeoutError);
    expect(err.message).toMatch(/timed out/);
    expect(await stored('timed-out')).toEqual({ _id: 'timed-out', v: 1 });
  });

  it('dropReply on a write: MongoNetworkError, the write applied once, the client recovers', async () => {
    await t.proxy.addRule({ id: 'lost-reply', match: { command: 'insert' }, fault: { kind: 'dropReply' } });
    const err = await rejection(coll.insertOne({ _id: 'applied', v: 1 }), MongoNetworkError);
    expect(err.message).toMatch(/closed/);
    // A standalone has no retryable writes; a replica set retries once (txnNumber makes the retry a no-op).
    expect(err.hasErrorLabel('RetryableWriteError')).toBe(t.server.retryableWrites);
    expect(await attempts('insert')).toBe(1 + 1 + (t.server.retryableWrites ? 1 : 0)); // the seed, then the attempts
    expect(await t.direct.db.collection<Doc>('items').countDocuments({ _id: 'applied' })).toBe(1);
    const c = await t.proxy.counters();
    expect(c.replies.dropped).toBe(c.faults.dropReply);
    expect(c.connections.closedByProxy).toBe(c.faults.dropReply);

    await t.proxy.heal();
    await coll.insertOne({ _id: 'after', v: 2 });
    expect(await stored('after')).toEqual({ _id: 'after', v: 2 });
  });

  it('dropReply on a read: the driver retries it once on a new connection and succeeds', async () => {
    await t.proxy.addRule({ id: 'lost-find', match: { command: 'find' }, fault: { kind: 'dropReply' }, count: 1 });
    expect(await coll.findOne({ _id: 'seed' })).toEqual({ _id: 'seed', v: 0 });
    expect(await attempts('find')).toBe(2);
    expect((await t.proxy.counters()).rules[0]).toMatchObject({ id: 'lost-find', injected: 1, active: false });
  });

  it('dropRequest: MongoNetworkError, nothing written', async () => {
    await t.proxy.addRule({ match: { command: 'insert' }, fault: { kind: 'dropRequest' }, count: 1 });
    const err = await rejection(coll.insertOne({ _id: 'never', v: 1 }), MongoNetworkError);
    expect(err.message).toMatch(/closed/);
    expect(await stored('never')).toBeNull();
    expect((await t.proxy.counters()).requests.dropped).toBe(1);
  });

  it('cutReply: part of the reply, then EOF: MongoNetworkError; a cut write still applied', async () => {
    await coll.insertMany(Array.from({ length: 50 }, (_, i) => ({ _id: `row${i}`, v: i })));
    await t.proxy.addRule({ id: 'cut-find', match: { command: 'find' }, fault: { kind: 'cutReply' } });
    await rejection(coll.find().toArray(), MongoNetworkError);
    const c = await t.proxy.counters();
    // Every attempt (the first and the driver's one retry) was cut.
    expect(c.replies.cut).toBe(c.requests.byCommand.find);
    expect(c.rules[0]!.injected).toBe(c.requests.byCommand.find);

    await t.proxy.heal();
    await t.proxy.addRule({ match: { command: 'insert' }, fault: { kind: 'cutReply', afterBytes: 10 }, count: 1 });
    await rejection(coll.insertOne({ _id: 'cut-write', v: 1 }), MongoNetworkError);
    expect(await stored('cut-write')).toEqual({ _id: 'cut-write', v: 1 });
  });

  it('refuseConnection until cleared: a new client cannot connect; removing the rule lets it', async () => {
    const refuse = await t.proxy.addRule({ fault: { kind: 'refuseConnection' } });
    const err = await rejection(t.client({ serverSelectionTimeoutMS: 1_500 }), MongoServerSelectionError);
    expect(err.message).toMatch(/ECONNRESET|closed/);
    expect((await t.proxy.counters()).connections.refused).toBeGreaterThanOrEqual(1);
    expect(await t.proxy.removeRule(refuse)).toBe(true);
    const later = await t.client({ serverSelectionTimeoutMS: 30_000 });
    await later.db('admin').command({ ping: 1 });
  });

  it('refuseConnection for a while (durationMs): a client that keeps trying gets through', async () => {
    await t.proxy.addRule({ id: 'outage', fault: { kind: 'refuseConnection' }, durationMs: 5_000 });
    const patient = await t.client({ serverSelectionTimeoutMS: 60_000 });
    await patient.db('admin').command({ ping: 1 });
    const c = await t.proxy.counters();
    expect(c.connections.refused).toBeGreaterThanOrEqual(1);
    expect(c.rules[0]).toMatchObject({ id: 'outage', active: false });
  });

  it('killConnections while refusing: the existing client fails until the proxy heals, then recovers', async () => {
    const client = await t.client({ serverSelectionTimeoutMS: 5_000 });
    const items = client.db(t.direct.name).collection<Doc>('items');
    await items.findOne({ _id: 'seed' });
    await t.proxy.addRule({ fault: { kind: 'refuseConnection' } });
    expect(await t.proxy.killConnections()).toBeGreaterThanOrEqual(1);
    const err = await items.findOne({ _id: 'seed' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    // Which one depends on whether the pool or the monitor notices first; both say "no connection".
    expect(err instanceof MongoNetworkError || err instanceof MongoServerSelectionError).toBe(true);
    await t.proxy.heal();
    expect(await items.findOne({ _id: 'seed' })).toEqual({ _id: 'seed', v: 0 });
  });

  describe.each([
    [91, 'ShutdownInProgress'],
    [189, 'PrimarySteppedDown'],
    [10107, 'NotWritablePrimary'],
    [11600, 'InterruptedAtShutdown'],
  ])('error %i %s', (code, codeName) => {
    it('on a write: MongoServerError with the code; not written; the client works on', async () => {
      await t.proxy.addRule({ match: { command: 'insert' }, fault: { kind: 'error', code } });
      const err = await rejection(coll.insertOne({ _id: `e${code}`, v: 1 }), MongoServerError);
      expect(err).toMatchObject({ code, codeName });
      // What the proxy sent: labels only where a 4.4+ server would add them (a retryable write).
      const sentLabels = t.server.maxWireVersion >= 9 && t.server.retryableWrites ? ['RetryableWriteError'] : undefined;
      expect(err.errorResponse).toEqual({
        ok: 0,
        errmsg: expect.any(String),
        code,
        codeName,
        ...(sentLabels ? { errorLabels: sentLabels } : {}),
      });
      // What the driver made of it: before 4.4 it labels the step-down codes itself.
      expect(err.hasErrorLabel('RetryableWriteError')).toBe(t.server.maxWireVersion < 9 || t.server.retryableWrites);
      expect(await attempts('insert')).toBe(1 + 1 + (t.server.retryableWrites ? 1 : 0));
      expect(await stored(`e${code}`)).toBeNull();

      await t.proxy.heal();
      await coll.insertOne({ _id: `ok${code}`, v: 2 });
      expect(await stored(`ok${code}`)).toEqual({ _id: `ok${code}`, v: 2 });
    });

    it('on a read, once: the driver retries on the code and succeeds', async () => {
      await t.proxy.addRule({ match: { command: 'find' }, fault: { kind: 'error', code }, count: 1 });
      expect(await coll.findOne({ _id: 'seed' })).toEqual({ _id: 'seed', v: 0 });
      expect(await attempts('find')).toBe(2);
    });
  });

  describe('error 16500 (Cosmos DB throttling)', () => {
    const retryAfter = (message: string) => Number(/RetryAfterMs=(\d+)/.exec(message)?.[1]);

    it('insertOne: MongoServerError 16500 from writeErrors, RetryAfterMs in the message, no label, not retried, not written', async () => {
      await t.proxy.addRule({ match: { command: 'insert' }, fault: { kind: 'error', code: 16500, retryAfterMs: 42 } });
      const err = await rejection(coll.insertOne({ _id: 'throttled', v: 1 }), MongoServerError);
      expect(err.code).toBe(16500);
      expect(retryAfter(err.message)).toBe(42);
      expect(err.errorLabels).toEqual([]);
      expect(await attempts('insert')).toBe(2);
      expect(await stored('throttled')).toBeNull();
    });

    it('insertMany: MongoBulkWriteError with writeErrors[0].code 16500, nothing inserted', async () => {
      await t.proxy.addRule({ match: { command: 'insert' }, fault: { kind: 'error', code: 16500, retryAfterMs: 9 } });
      const err = await rejection(coll.insertMany([{ _id: 'm1' }, { _id: 'm2' }]), MongoBulkWriteError);
      expect(err.code).toBe(16500);
      expect(err.writeErrors).toHaveLength(1);
      expect(err.insertedCount).toBe(0);
      expect(retryAfter(err.message)).toBe(9);
      expect(await t.direct.db.collection<Doc>('items').countDocuments({ _id: { $in: ['m1', 'm2'] } })).toBe(0);
    });

    it('updateOne: MongoServerError 16500; the document is unchanged', async () => {
      await t.proxy.addRule({ match: { command: 'update' }, fault: { kind: 'error', code: 16500 } });
      const err = await rejection(coll.updateOne({ _id: 'seed' }, { $set: { v: 5 } }), MongoServerError);
      expect(err.code).toBe(16500);
      expect(await stored('seed')).toEqual({ _id: 'seed', v: 0 });
    });

    it('find and findOneAndUpdate: a command error (ok 0, codeName RequestRateTooLarge), not retried', async () => {
      await t.proxy.addRule({
        match: { command: ['find', 'findAndModify'] },
        fault: { kind: 'error', code: 16500, retryAfterMs: 15 },
      });
      const read = await rejection(coll.findOne({ _id: 'seed' }), MongoServerError);
      expect(read.errorResponse).toMatchObject({ ok: 0, code: 16500, codeName: 'RequestRateTooLarge' });
      expect(read.errorResponse.errorLabels).toBeUndefined();
      expect(retryAfter(read.message)).toBe(15);
      expect(await attempts('find')).toBe(1);
      const fam = await rejection(coll.findOneAndUpdate({ _id: 'seed' }, { $set: { v: 9 } }), MongoServerError);
      expect(fam).toMatchObject({ code: 16500, codeName: 'RequestRateTooLarge' });
      expect(await stored('seed')).toEqual({ _id: 'seed', v: 0 });
    });
  });
});
