/**
 * Every fault kind at random on every command, from several concurrent clients, then heal(): the proxy itself
 * never loses track (no protocol error, no stuck connection, counters that add up) and, once healed, passes
 * traffic cleanly. The clients retry until acknowledged, with idempotent writes, so the data must be exact.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MongoError, MongoServerError, type Collection } from 'mongodb';
import type { FaultRule } from '../support/mongo-fault-proxy/index.js';
import { openProxiedDb, type ProxiedDb } from './support.js';

interface Row {
  _id: string;
  client: number;
  i: number;
  touched?: number;
}

/** Runs `op` until it is acknowledged; counts what it met on the way. */
async function untilAcknowledged<T>(op: () => Promise<T>, met: Map<string, number>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (e) {
      if (!(e instanceof MongoError) || attempt >= 60) throw e;
      const key = `${e.name}${e.code === undefined ? '' : `:${e.code}`}`;
      met.set(key, (met.get(key) ?? 0) + 1);
      const hint = /RetryAfterMs=(\d+)/.exec(e.message);
      await new Promise((r) => setTimeout(r, hint ? Number(hint[1]) : 10));
    }
  }
}

describe('fault proxy under random faults', () => {
  let t: ProxiedDb;
  beforeEach(async () => {
    t = await openProxiedDb('fp_chaos');
  });
  afterEach(() => t.close());

  it('keeps every connection consistent and the data exact; heal() restores clean passthrough', async () => {
    const p = 0.02;
    const rules: FaultRule[] = [
      { id: 'drop-reply', fault: { kind: 'dropReply' }, probability: p },
      { id: 'drop-request', fault: { kind: 'dropRequest' }, probability: p },
      { id: 'cut-reply', fault: { kind: 'cutReply' }, probability: p },
      { id: 'delay-request', fault: { kind: 'delayRequest', ms: 15 }, probability: p },
      { id: 'delay-reply', fault: { kind: 'delayReply', ms: 15 }, probability: p },
      { id: 'step-down', fault: { kind: 'error', code: 10107 }, probability: p },
      { id: 'throttle', fault: { kind: 'error', code: 16500, retryAfterMs: 2 }, probability: p },
    ];
    for (const rule of rules) await t.proxy.addRule(rule);

    const met = new Map<string, number>();
    const CLIENTS = 3;
    const ROWS = 40;
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        const coll: Collection<Row> = (await t.client({ maxPoolSize: 4, serverSelectionTimeoutMS: 60_000 }))
          .db(t.direct.name)
          .collection<Row>('rows');
        for (let i = 0; i < ROWS; i++) {
          const _id = `c${c}-${i}`;
          // A lost reply means the insert may have applied: the retry then meets a duplicate key, which is success.
          await untilAcknowledged(
            () =>
              coll.insertOne({ _id, client: c, i }).catch((e: unknown) => {
                if (e instanceof MongoServerError && e.code === 11000) return undefined;
                throw e;
              }),
            met,
          );
          await untilAcknowledged(() => coll.updateOne({ _id }, { $set: { touched: i } }), met);
          if (i % 10 === 9) {
            // Reads that span a getMore: batches of 3 over this client's rows.
            const mine = await untilAcknowledged(() => coll.find({ client: c }, { batchSize: 3 }).toArray(), met);
            expect(mine).toHaveLength(i + 1);
            const counted = await untilAcknowledged(
              () => coll.aggregate([{ $match: { client: c } }, { $count: 'n' }]).toArray(),
              met,
            );
            expect(counted).toEqual([{ n: i + 1 }]);
          }
        }
      }),
    );

    const during = await t.proxy.counters();
    await t.proxy.heal();
    expect(during.protocolErrors).toBe(0);
    expect(during.rules.reduce((n, r) => n + r.injected, 0)).toBeGreaterThan(0);
    const rows = await t.direct.db.collection<Row>('rows').find().sort({ client: 1, i: 1 }).toArray();
    expect(rows).toEqual(
      Array.from({ length: CLIENTS * ROWS }, (_, k) => ({
        _id: `c${Math.floor(k / ROWS)}-${k % ROWS}`,
        client: Math.floor(k / ROWS),
        i: k % ROWS,
        touched: k % ROWS,
      })),
    );

    // Healed: a fresh client's traffic passes without a single fault.
    const before = await t.proxy.counters();
    const clean = (await t.client()).db(t.direct.name).collection<Row>('rows');
    expect(await clean.countDocuments()).toBe(CLIENTS * ROWS);
    await clean.updateMany({}, { $inc: { touched: 1 } });
    const after = await t.proxy.counters();
    expect(after.faults).toEqual(before.faults);
    expect(after.requests.received).toBe(after.requests.forwarded + after.requests.answered + after.requests.dropped);
    expect(after.protocolErrors).toBe(0);
    // Each fault the driver did not absorb by retrying a read reached the client as a retried error.
    const surfaced = [...met.values()].reduce((n, k) => n + k, 0);
    expect(surfaced).toBeLessThanOrEqual(
      during.rules.filter((r) => !r.id.startsWith('delay')).reduce((n, r) => n + r.injected, 0),
    );
  });
});
