/**
 * Rule matching against real driver traffic (command, collection, database; the handshake only when named),
 * how often rules fire (skip, count, probability), the counters, and heal().
 */
import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MongoServerError, MongoServerSelectionError, type Db } from 'mongodb';
import { FrameReader, OP_REPLY, encodeOpQuery, replyDocument, type Frame } from '../support/mongo-fault-proxy/wire.js';
import { InvalidRuleError, DuplicateRuleError } from '../support/mongo-fault-proxy/index.js';
import { openProxiedDb, rejection, type ProxiedDb } from './support.js';

describe('fault proxy: rules, counters, heal', () => {
  let t: ProxiedDb;
  let db: Db;
  beforeEach(async () => {
    t = await openProxiedDb('fp_rules');
    db = (await t.client()).db(t.direct.name);
  });
  afterEach(() => t.close());

  it('matches by collection: only writes to that collection fail', async () => {
    await t.proxy.addRule({
      match: { command: 'insert', collection: 'guarded' },
      fault: { kind: 'error', code: 10107 },
    });
    await db.collection('open').insertOne({ _id: 1 } as never);
    await rejection(db.collection('guarded').insertOne({ _id: 1 } as never), MongoServerError);
    expect(await t.direct.db.collection('open').countDocuments()).toBe(1);
    expect(await t.direct.db.collection('guarded').countDocuments()).toBe(0);
  });

  it('matches by database and by a list of commands', async () => {
    await t.proxy.addRule({ match: { database: `${t.direct.name}_other` }, fault: { kind: 'error', code: 91 } });
    await db.collection('c').insertOne({ _id: 1, v: 0 } as never);
    await t.proxy.heal();
    await t.proxy.addRule({
      match: { command: ['update', 'delete'], database: t.direct.name },
      fault: { kind: 'error', code: 91 },
    });
    await db.collection('c').insertOne({ _id: 2, v: 0 } as never);
    await rejection(db.collection('c').updateOne({ _id: 1 } as never, { $set: { v: 1 } }), MongoServerError);
    await rejection(db.collection('c').deleteOne({ _id: 1 } as never), MongoServerError);
    expect(await t.direct.db.collection('c').find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, v: 0 },
      { _id: 2, v: 0 },
    ]);
  });

  it('leaves the handshake alone unless a rule names it', async () => {
    // A catch-all rule: every command fails, yet connections are established and monitored.
    await t.proxy.addRule({ id: 'everything', fault: { kind: 'error', code: 91 } });
    const fresh = await t.client({ serverSelectionTimeoutMS: 30_000 });
    const err = await rejection(fresh.db('admin').command({ ping: 1 }), MongoServerError);
    expect(err.code).toBe(91);
    const c = await t.proxy.counters();
    expect(
      c.requests.byCommand.ismaster ?? c.requests.byCommand.isMaster ?? c.requests.byCommand.hello,
    ).toBeGreaterThan(0);
    expect(c.rules[0]!.injected).toBe(c.requests.answered);

    await t.proxy.heal();
    await t.proxy.addRule({ match: { command: ['isMaster', 'hello'] }, fault: { kind: 'error', code: 91 } });
    await rejection(t.client({ serverSelectionTimeoutMS: 1_500 }), MongoServerSelectionError);
  });

  it('answers a legacy OP_QUERY command with an OP_REPLY error', async () => {
    await t.proxy.addRule({ match: { command: 'isMaster' }, fault: { kind: 'error', code: 11600 } });
    const socket = connect({ host: '127.0.0.1', port: t.proxy.port });
    const reader = new FrameReader();
    const reply = await new Promise<Frame>((resolve, reject) => {
      socket.on('data', (chunk: Buffer) => {
        const [frame] = reader.push(chunk);
        if (frame) resolve(frame);
      });
      socket.on('error', reject);
      socket.write(encodeOpQuery(77, 'admin.$cmd', { isMaster: 1 }));
    });
    socket.destroy();
    expect(reply).toMatchObject({ opCode: OP_REPLY, responseTo: 77 });
    expect(replyDocument(reply)).toEqual({
      ok: 0,
      errmsg: 'interrupted at shutdown',
      code: 11600,
      codeName: 'InterruptedAtShutdown',
    });
  });

  it('skips, then injects `count` times, then lets everything pass', async () => {
    await t.proxy.addRule({
      id: 'third',
      match: { command: 'insert' },
      fault: { kind: 'error', code: 189 },
      skip: 2,
      count: 1,
    });
    const outcomes: string[] = [];
    for (let i = 1; i <= 4; i++) {
      outcomes.push(
        await db
          .collection('seq')
          .insertOne({ _id: i } as never)
          .then(
            () => 'ok',
            (e: unknown) => (e instanceof MongoServerError ? String(e.code) : 'other'),
          ),
      );
    }
    expect(outcomes).toEqual(['ok', 'ok', '189', 'ok']);
    expect((await t.proxy.counters()).rules[0]).toMatchObject({ id: 'third', matched: 3, injected: 1, active: false });
  });

  it('injects with a probability; the counters add up', async () => {
    // A code of the rule's own (not a state-change code, which would make the driver re-check the server each time).
    await t.proxy.addRule({
      id: 'coin',
      match: { command: 'ping' },
      fault: { kind: 'error', code: 2, codeName: 'BadValue', errmsg: 'injected' },
      probability: 0.5,
    });
    let failed = 0;
    for (let i = 0; i < 40; i++) {
      await db
        .admin()
        .command({ ping: 1 })
        .catch((e: unknown) => {
          expect(e).toMatchObject({ code: 2, codeName: 'BadValue', errmsg: 'injected' });
          failed += 1;
        });
    }
    const c = await t.proxy.counters();
    expect(c.rules[0]).toMatchObject({ id: 'coin', matched: 40, injected: failed });
    expect(failed).toBeGreaterThan(0);
    expect(failed).toBeLessThan(40);
    expect(c.faults.error).toBe(failed);
    expect(c.requests.answered).toBe(failed);
    expect(c.requests.received).toBe(c.requests.forwarded + c.requests.answered + c.requests.dropped);
    expect(c.requests.byCommand.ping).toBe(40);
  });

  it('refuses a malformed rule and a second active rule with the same id', async () => {
    await expect(t.proxy.addRule({ fault: { kind: 'delayReply', ms: -5 } })).rejects.toBeInstanceOf(InvalidRuleError);
    await t.proxy.addRule({ id: 'once', fault: { kind: 'dropReply' }, match: { command: 'nothing' } });
    await expect(t.proxy.addRule({ id: 'once', fault: { kind: 'dropReply' } })).rejects.toBeInstanceOf(
      DuplicateRuleError,
    );
  });

  it('heal() ends every rule at once and releases held messages: clean passthrough again', async () => {
    await db.collection('h').insertOne({ _id: 'x' } as never);
    await t.proxy.addRule({ id: 'no-writes', match: { command: 'insert' }, fault: { kind: 'error', code: 10107 } });
    await t.proxy.addRule({ id: 'held', match: { command: 'find' }, fault: { kind: 'delayReply', ms: 600_000 } });
    await t.proxy.addRule({ id: 'no-new', fault: { kind: 'refuseConnection' } });
    await rejection(db.collection('h').insertOne({ _id: 'y' } as never), MongoServerError);
    const pending = db.collection('h').findOne({ _id: 'x' } as never);
    // Let the find reach the proxy and be held before healing.
    for (let i = 0; (await t.proxy.counters()).faults.delayReply === 0; i++) {
      if (i > 3000) throw new Error(`the find never reached the proxy: ${JSON.stringify(await t.proxy.counters())}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    // The reply may already be held, or still on its way: either way it now goes through at once.
    await t.proxy.heal();
    expect(await pending).toEqual({ _id: 'x' });
    await db.collection('h').insertOne({ _id: 'y' } as never);
    const fresh = await t.client({ serverSelectionTimeoutMS: 30_000 });
    await fresh.db('admin').command({ ping: 1 });
    const c = await t.proxy.counters();
    expect(c.rules.map((r) => [r.id, r.active])).toEqual([
      ['no-writes', false],
      ['held', false],
      ['no-new', false],
    ]);
    expect(c.rules.find((r) => r.id === 'no-writes')!.injected).toBe(1);
  });
});
