/**
 * heal() between a request and its reply: a reply fault decided when the request passed must not hit the reply
 * that comes after heal(). A scripted upstream (answers only when told) makes the order certain.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FrameReader, encodeOpMsg, replyDocument, type Frame } from '../support/mongo-fault-proxy/wire.js';
import { startFaultProxy, type FaultProxy } from '../support/mongo-fault-proxy/index.js';

/** A server that records requests and answers each `{ ok: 1 }` only when `answer()` is called. */
async function scriptedServer(): Promise<{
  server: Server;
  port: number;
  received: () => Promise<Frame>;
  answer: () => void;
}> {
  const waiting: ((f: Frame) => void)[] = [];
  const arrived: Frame[] = [];
  let socket: Socket | undefined;
  let last: Frame | undefined;
  const server = createServer((s) => {
    socket = s;
    const reader = new FrameReader();
    s.on('data', (chunk: Buffer) => {
      for (const f of reader.push(chunk)) {
        const w = waiting.shift();
        if (w) w(f);
        else arrived.push(f);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    received: () =>
      new Promise<Frame>((resolve) => {
        const f = arrived.shift();
        const take = (frame: Frame) => {
          last = frame;
          resolve(frame);
        };
        if (f) take(f);
        else waiting.push(take);
      }),
    answer: () => socket!.write(encodeOpMsg(1000, last!.requestId, { ok: 1 })),
  };
}

describe('fault proxy: heal() between a request and its reply', () => {
  let proxy: FaultProxy | undefined;
  let upstream: Server | undefined;
  afterEach(async () => {
    await proxy?.stop();
    await new Promise<void>((r) => (upstream ? upstream.close(() => r()) : r()));
  });

  it.each([
    ['delayReply', { kind: 'delayReply', ms: 600_000 }],
    ['dropReply', { kind: 'dropReply' }],
    ['cutReply', { kind: 'cutReply' }],
  ] as const)('%s decided before heal() is withdrawn: the reply arrives whole, nothing counted', async (_, fault) => {
    const scripted = await scriptedServer();
    upstream = scripted.server;
    proxy = await startFaultProxy({ target: `127.0.0.1:${scripted.port}` });
    await proxy.addRule({ id: 'pending', match: { command: 'ping' }, fault });

    const client = connect({ host: '127.0.0.1', port: proxy.port });
    const reader = new FrameReader();
    const reply = new Promise<Frame>((resolve, reject) => {
      client.on('data', (chunk: Buffer) => {
        const [f] = reader.push(chunk);
        if (f) resolve(f);
      });
      client.on('close', () => reject(new Error('the proxy closed the connection')));
    });
    client.write(encodeOpMsg(5, 0, { ping: 1, $db: 'admin' }));
    await scripted.received(); // the request passed the proxy: the fault is decided
    expect((await proxy.counters()).rules[0]!.injected).toBe(1);

    await proxy.heal();
    scripted.answer();
    const frame = await reply;
    client.destroy();
    expect(frame.responseTo).toBe(5);
    expect(replyDocument(frame)).toEqual({ ok: 1 });
    const c = await proxy.counters();
    expect(c.rules[0]).toMatchObject({ id: 'pending', injected: 0, active: false });
    expect(c.faults[fault.kind]).toBe(0);
    expect(c.replies).toMatchObject({ received: 1, delivered: 1, dropped: 0, cut: 0 });
  });
});
