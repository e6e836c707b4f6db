/**
 * The proxy as its own process, steered over its HTTP control API: what a multi-process test uses (several
 * worker processes share one proxy; the test injects faults and reads the counters).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MongoClient, MongoNetworkError } from 'mongodb';
import { openTestDb, type TestDb } from '../support/db.js';
import { lastJsonLine, runTs } from '../support/processes.js';
import {
  FaultProxyControlError,
  RemoteFaultProxy,
  spawnFaultProxy,
  type SpawnedFaultProxy,
} from '../support/mongo-fault-proxy/index.js';
import { rejection } from './support.js';

describe('fault proxy as a process', () => {
  let t: TestDb;
  let proxy: SpawnedFaultProxy;
  beforeEach(async () => {
    t = await openTestDb('fp_proc');
    proxy = await spawnFaultProxy({ target: t.uri, seed: 7 });
  });
  afterEach(async () => {
    await proxy.stop();
    await t.drop();
  });

  it('is steered over HTTP: add a rule, read the counters, refuse a bad rule, heal, stop', async () => {
    const client = await new MongoClient(proxy.uri).connect();
    try {
      const coll = client.db(t.name).collection<{ _id: string }>('remote');
      const id = await proxy.addRule({ match: { command: 'insert' }, fault: { kind: 'dropReply' }, count: 1 });
      await rejection(coll.insertOne({ _id: 'lost-reply' }), MongoNetworkError);
      expect(await t.db.collection('remote').countDocuments()).toBe(1);

      // Another process (or test file) can reach the same proxy by its control URL alone.
      const other = await RemoteFaultProxy.connect(proxy.controlUrl);
      expect(other.uri).toBe(proxy.uri);
      const c = await other.counters();
      expect(c.seed).toBe(7);
      expect(c.faults.dropReply).toBe(1);
      expect(c.rules).toMatchObject([{ id, injected: 1, active: false }]);

      const bad = await rejection(proxy.addRule({ fault: { kind: 'meltdown' } } as never), FaultProxyControlError);
      expect(bad.status).toBe(400);
      expect(bad.issues?.map((i) => i.path)).toEqual(['fault.kind']);

      await proxy.addRule({ match: { command: 'insert' }, fault: { kind: 'error', code: 91 } });
      await proxy.heal();
      await coll.insertOne({ _id: 'after-heal' });
      expect(await proxy.removeRule('no-such-rule')).toBe(false);
    } finally {
      await client.close();
    }
    await proxy.stop();
    expect(proxy.child.exitCode).toBe(0);
    expect(proxy.output.stdout).toContain('"event":"stopped"');
  });

  it('carries two writer processes through random faults; every write lands exactly once', async () => {
    const p = 0.08;
    await proxy.addRule({ id: 'lost', match: { command: 'update' }, fault: { kind: 'dropReply' }, probability: p });
    await proxy.addRule({ id: 'cut', match: { command: 'update' }, fault: { kind: 'cutReply' }, probability: p });
    await proxy.addRule({
      id: 'stepdown',
      match: { command: 'update' },
      fault: { kind: 'error', code: 10107 },
      probability: p,
    });
    await proxy.addRule({
      id: 'throttle',
      match: { command: 'update' },
      fault: { kind: 'error', code: 16500, retryAfterMs: 5 },
      probability: p,
    });
    await proxy.addRule({
      id: 'slow',
      match: { command: 'update' },
      fault: { kind: 'delayReply', ms: 30 },
      probability: p,
    });
    const writes = 60;
    const results = await Promise.all(
      ['w1', 'w2'].map((w) =>
        runTs('test/fault-proxy/fixtures/writer.ts', {
          MONGO_URI: proxy.uri,
          DB_NAME: t.name,
          WORKER_ID: w,
          WRITES: String(writes),
        }).then((r) => lastJsonLine<{ written: number; retries: number }>(r)),
      ),
    );
    await proxy.heal();
    expect(results.map((r) => r.written)).toEqual([writes, writes]);
    const docs = await t.db.collection<{ _id: string }>('written').find().toArray();
    expect(docs).toHaveLength(2 * writes);
    const c = await proxy.counters();
    const injected = c.rules.reduce((n, r) => n + r.injected, 0);
    expect(injected).toBeGreaterThan(0);
    // Every injection except a delay made the writer retry once, unless the driver retried it first (a replica
    // set retries writes itself; mongo-java-server, a standalone, never does).
    const hello = await t.client.db('admin').command({ isMaster: 1 });
    const driverRetriesWrites = hello.logicalSessionTimeoutMinutes != null && hello.setName !== undefined;
    const retries = results.reduce((n, r) => n + r.retries, 0);
    if (driverRetriesWrites) expect(retries).toBeLessThanOrEqual(injected - c.faults.delayReply);
    else expect(retries).toBe(injected - c.faults.delayReply);
  });
});
