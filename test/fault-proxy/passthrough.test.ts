/**
 * Without rules the proxy is invisible: the driver's handshake, large messages split over many TCP chunks,
 * pipelined messages and a pool of concurrent connections all pass byte for byte.
 */
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MongoClient, type Document } from 'mongodb';
import {
  FrameReader,
  encodeOpMsg,
  encodeOpQuery,
  replyDocument,
  type Frame,
} from '../support/mongo-fault-proxy/wire.js';
import { startFaultProxy } from '../support/mongo-fault-proxy/index.js';
import { openProxiedDb, type ProxiedDb } from './support.js';

/** Sends raw bytes through the proxy (in the given pieces) and collects `expected` whole replies. */
async function exchange(port: number, pieces: Buffer[], expected: number): Promise<Frame[]> {
  const socket: Socket = connect({ host: '127.0.0.1', port, noDelay: true });
  const reader = new FrameReader();
  const frames: Frame[] = [];
  const done = new Promise<Frame[]>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      frames.push(...reader.push(chunk));
      if (frames.length >= expected) resolve(frames);
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`connection closed after ${frames.length} of ${expected} replies`)));
  });
  for (const piece of pieces) {
    await new Promise<void>((r) => socket.write(piece, () => r()));
  }
  try {
    return await done;
  } finally {
    socket.destroy();
  }
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('fault proxy: clean passthrough', () => {
  let t: ProxiedDb;
  beforeEach(async () => {
    t = await openProxiedDb('fp_pass');
  });
  afterEach(() => t.close());

  it('passes the driver handshake untouched (legacy OP_QUERY isMaster first, then OP_MSG)', async () => {
    const client = await t.client();
    const viaProxy = await client.db('admin').command({ isMaster: 1 });
    const direct = await t.direct.client.db('admin').command({ isMaster: 1 });
    const stable = (d: Document) =>
      Object.fromEntries(
        Object.entries(d).filter(
          ([k]) =>
            !['localTime', 'connectionId', '$clusterTime', 'operationTime', 'topologyVersion', 'lastWrite'].includes(k),
        ),
      );
    expect(stable(viaProxy)).toEqual(stable(direct));
    const c = await t.proxy.counters();
    expect(c.requests.byOpCode.OP_QUERY).toBeGreaterThanOrEqual(1);
    expect(c.requests.byOpCode.OP_MSG).toBeGreaterThanOrEqual(1);
    expect(c.requests.received).toBe(c.requests.forwarded);
    expect(c.requests.answered + c.requests.dropped).toBe(0);
    expect(Object.values(c.faults).every((n) => n === 0)).toBe(true);
  });

  it('forwards pipelined messages and messages split into 1-byte writes, replies in order', async () => {
    const pings = [1, 2, 3].map((id) => encodeOpMsg(id, 0, { ping: 1, $db: 'admin' }));
    const isMaster = encodeOpQuery(4, 'admin.$cmd', { isMaster: 1 });
    const split = [...isMaster].map((b) => Buffer.from([b]));
    const replies = await exchange(t.proxy.port, [Buffer.concat(pings), ...split], 4);
    expect(replies.map((r) => r.responseTo)).toEqual([1, 2, 3, 4]);
    expect(replies.map((r) => replyDocument(r)?.ok)).toEqual([1, 1, 1, 1]);
    expect(replyDocument(replies[3]!)?.ismaster).toBe(true);
  });

  it('carries a request and a reply of several MB, split over many TCP chunks, intact', async () => {
    const client = await t.client();
    const coll = client.db(t.direct.name).collection<{ _id: number; blob: string }>('big');
    // 12 documents of ~700 KB: one insert of ~8.4 MB, and one find batch of ~8.4 MB.
    const docs = Array.from({ length: 12 }, (_, i) => ({
      _id: i,
      blob: `${i}:`.padEnd(700_000, String.fromCharCode(97 + i)),
    }));
    await coll.insertMany(docs);
    const stored = await t.direct.db.collection<{ _id: number; blob: string }>('big').find().sort({ _id: 1 }).toArray();
    expect(stored.map((d) => sha(d.blob))).toEqual(docs.map((d) => sha(d.blob)));
    const read = await coll.find().sort({ _id: 1 }).toArray();
    expect(read.map((d) => sha(d.blob))).toEqual(docs.map((d) => sha(d.blob)));
    const c = await t.proxy.counters();
    expect(c.protocolErrors).toBe(0);
    expect(c.replies.received).toBe(c.replies.delivered);
  });

  it('serves a pool of concurrent connections without mixing replies', async () => {
    const client = await t.client({ maxPoolSize: 8 });
    const coll = client.db(t.direct.name).collection<{ _id: string; n: number }>('pool');
    const n = 150;
    await Promise.all(Array.from({ length: n }, (_, i) => coll.insertOne({ _id: `d${i}`, n: i })));
    const found = await Promise.all(Array.from({ length: n }, (_, i) => coll.findOne({ _id: `d${i}` })));
    expect(found.map((d) => d?.n)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(await t.direct.db.collection('pool').countDocuments()).toBe(n);
    const c = await t.proxy.counters();
    // The monitor's connection plus more than one pooled connection: the requests really were concurrent.
    expect(c.connections.accepted).toBeGreaterThanOrEqual(3);
    expect(c.requests.byCommand.insert).toBe(n);
    expect(c.requests.byCommand.find).toBe(n);
  });

  it('gives a URI that keeps the original database path and options', async () => {
    const target = `${t.direct.uri.replace(/\/?$/, '')}/${t.direct.name}?appName=fault-proxy-test&retryWrites=true`;
    const proxy = await startFaultProxy({ target });
    try {
      expect(proxy.uri).toBe(
        `mongodb://127.0.0.1:${proxy.port}/${t.direct.name}?appName=fault-proxy-test&retryWrites=true`,
      );
      const viaPath = await new MongoClient(proxy.uri).connect();
      try {
        expect(viaPath.db().databaseName).toBe(t.direct.name);
        await viaPath
          .db()
          .collection('path')
          .insertOne({ _id: 'p' } as Document);
        expect(await t.direct.db.collection('path').countDocuments()).toBe(1);
      } finally {
        await viaPath.close();
      }
    } finally {
      await proxy.stop();
    }
  });
});
