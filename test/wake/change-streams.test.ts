import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../../lib/log/logger.js';
import { databaseChannel, ensureWakeIndexes, type DatabaseWakeChannel } from '../../lib/wake/index.js';
import { startMongoServer, type MongoServerHandle } from '../../tools/mongo-server.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { mongoManaged } from '../support/services.js';
import { waitFor } from '../worker/helpers.js';

// The database channel's change-stream mode, against a mongo-java-server of its own with the oplog on
// (the suite's server has none, so elsewhere the channel polls). Skipped on MONGODB_URI's server: Java
// may not be there, and that server may well serve change streams.
let server: MongoServerHandle;
let client: MongoClient;

async function freshDb(): Promise<Db> {
  const db = client.db(`cs_${randomBytes(5).toString('hex')}`);
  await ensureWakeIndexes(db);
  return db;
}

/** A logger that keeps its lines' messages and errors. */
function recording(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({
    level: 'debug',
    sink: (line) => {
      const r = JSON.parse(line) as { msg: string; error?: string };
      lines.push(r.error ? `${r.msg}: ${r.error}` : r.msg);
    },
  });
  return { logger, lines };
}

/** Two processes' channels, both listening; resolves once both have chosen how. */
async function pair(db: Db, prefix: string, logger?: Logger) {
  const o = { changeStreams: 'auto', pollMs: 10, ...(logger ? { logger } : {}) } as const;
  const a = databaseChannel(db, { origin: `${prefix}a`, ...o });
  const b = databaseChannel(db, { origin: `${prefix}b`, ...o });
  const heardA: number[] = [];
  const heardB: number[] = [];
  a.subscribe((w) => heardA.push(w.count));
  b.subscribe((w) => heardB.push(w.count));
  const settled = (c: DatabaseWakeChannel) => c.mode === 'poll' || c.mode === 'stream';
  await waitFor(() => settled(a) && settled(b), 'both channels listening');
  return { a, b, heardA, heardB };
}

describe.skipIf(!mongoManaged())('database channel on change streams', () => {
  beforeAll(async () => {
    server = await startMongoServer({ oplog: true });
    client = await new MongoClient(server.uri).connect();
  });
  afterAll(async () => {
    await client?.close();
    await server?.stop();
  });

  it('listens on a change stream: carries wake-ups between processes, not back to their sender, delayed ones at their time', async () => {
    const db = await freshDb();
    const { a, b, heardA, heardB } = await pair(db, 'cs1');
    expect([a.mode, b.mode]).toEqual(['stream', 'stream']);
    await a.announce({ count: 4 });
    await waitFor(() => heardB.includes(4), 'b hears a');
    await b.announce({ count: 5 });
    await waitFor(() => heardA.includes(5), 'a hears b');
    const due = Date.now() + 200;
    await a.announce({ count: 7, at: new Date(due) });
    await waitFor(() => heardB.includes(7), 'b hears the delayed one');
    expect(Date.now()).toBeGreaterThanOrEqual(due);
    expect(heardA).toEqual([5]);
    expect(heardB).toEqual([4, 7]);
    expect([a.mode, b.mode]).toEqual(['stream', 'stream']);
    await a.close();
    await b.close();
    expect([a.mode, b.mode]).toEqual(['stopped', 'stopped']);
  });

  it('listens again after its last listener left, on a new stream', async () => {
    const db = await freshDb();
    const a = databaseChannel(db, { origin: 'cs2a', changeStreams: 'auto', pollMs: 10 });
    const b = databaseChannel(db, { origin: 'cs2b', changeStreams: 'auto', pollMs: 10 });
    const heard: number[] = [];
    const off = b.subscribe(() => undefined);
    off(); // stops while the stream is still opening: that run must not come back to life
    expect(b.mode).toBe('stopped');
    b.subscribe((w) => heard.push(w.count));
    await waitFor(() => b.mode === 'stream', 'b on a stream');
    await a.announce({ count: 3 });
    await waitFor(() => heard.includes(3), 'b hears a');
    await sleep(50);
    expect(heard).toEqual([3]); // one stream, not two
    await a.close();
    await b.close();
  });

  it('falls back to polling when the stream ends (collection dropped), going on from the last signal it delivered', async () => {
    const db = await freshDb();
    const { logger, lines } = recording();
    const { a, b, heardB } = await pair(db, 'cs3', logger);
    expect(b.mode).toBe('stream');
    await a.announce({ count: 2 });
    await waitFor(() => heardB.includes(2), 'b hears a on the stream');
    await db.collection('wake_signals').drop();
    await waitFor(() => b.mode === 'poll', 'b polls');
    // Announced right away: polling starts from the last signal the stream delivered, so nothing is missed.
    await a.announce({ count: 6 });
    await waitFor(() => heardB.includes(6), 'b hears a by polling');
    expect(heardB).toEqual([2, 6]);
    expect(lines).toContain('wake-up change stream failed; polling instead: the wake-up change stream ended (drop)');
    await a.close();
    await b.close();
  });
});

describe.skipIf(!mongoManaged())('database channel on change streams, server restarted', () => {
  it('still delivers after the server restarts under an open stream (the driver resumes it, or the channel polls)', async () => {
    let own = await startMongoServer({ oplog: true });
    const clients = [await new MongoClient(own.uri).connect(), await new MongoClient(own.uri).connect()];
    try {
      const [ca, cb] = clients as [MongoClient, MongoClient];
      await ensureWakeIndexes(ca.db('restart'));
      const a = databaseChannel(ca.db('restart'), { origin: 'rsa', changeStreams: 'auto', pollMs: 10 });
      const b = databaseChannel(cb.db('restart'), { origin: 'rsb', changeStreams: 'auto', pollMs: 10 });
      const heard: number[] = [];
      b.subscribe((w) => heard.push(w.count));
      await waitFor(() => b.mode === 'stream', 'b on a stream');
      await a.announce({ count: 1 });
      await waitFor(() => heard.includes(1), 'b hears a');
      await own.stop();
      own = await startMongoServer({ oplog: true, port: own.port }); // in memory: a new, empty database
      // Announced until heard: what was announced while the stream was being resumed may be missed (a hint).
      await waitFor(async () => {
        await a.announce({ count: 9 });
        return heard.includes(9);
      }, 'b hears a after the restart');
      expect(['stream', 'poll']).toContain(b.mode);
      await a.close();
      await b.close();
    } finally {
      for (const c of clients) await c.close();
      await own.stop();
    }
  });
});

describe.skipIf(!mongoManaged())('database channel on a server without change streams', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await openTestDb('wakecs');
    await ensureWakeIndexes(t.db);
  });
  afterAll(async () => {
    await t.drop();
  });

  it("with 'auto', polls and still delivers", async () => {
    const { logger, lines } = recording();
    const { a, b, heardA, heardB } = await pair(t.db, 'np', logger);
    expect([a.mode, b.mode]).toEqual(['poll', 'poll']);
    // mongo-java-server without its oplog refuses the $changeStream aggregate (a standalone mongod too: 40573).
    expect(lines.filter((l) => l.startsWith('no change stream; polling for wake-ups'))).toHaveLength(2);
    await sleep(100); // both have read the counter: they hear what comes after it
    await a.announce({ count: 4 });
    await waitFor(() => heardB.includes(4), 'b hears a');
    const due = Date.now() + 200;
    await a.announce({ count: 7, at: new Date(due) });
    await waitFor(() => heardB.includes(7), 'b hears the delayed one');
    expect(Date.now()).toBeGreaterThanOrEqual(due);
    expect(heardA).toEqual([]);
    await a.close();
    await b.close();
  });
});
