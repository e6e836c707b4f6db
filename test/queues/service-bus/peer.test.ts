/** The local peer itself: it refuses what Service Bus refuses and stops without leaving sockets behind. */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { QueueProviderError } from '../../../lib/queues/provider.js';
import { startServiceBusPeer } from '../../support/service-bus-peer/index.js';
import { providerOn, receiveAtLeast, sleep } from './helpers.js';

const tcpHandles = () => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length;

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('service-bus peer', () => {
  it('stops cleanly, even with a client still connected', async () => {
    const before = tcpHandles();
    const peer = await startServiceBusPeer({ entities: [{ name: 'q' }] });
    const provider = providerOn(peer, { QueueName: 'q' });
    await provider.send({ body: 'x' });
    expect((await receiveAtLeast((o) => provider.receive(o), 1)).map((m) => m.body)).toEqual(['x']);
    await peer.stop();
    await provider.close();
    expect(await refused(peer.port)).toBe(true);
    // Closed handles leave the list on a later tick: give them a moment (a budget, not an assertion).
    for (let i = 0; i < 50 && tcpHandles() > before; i++) await sleep(20);
    expect(tcpHandles()).toBeLessThanOrEqual(before);
  });

  it('after a dropped connection the provider reconnects: sends and receives keep working, close() still ends', async () => {
    const peer = await startServiceBusPeer({ entities: [{ name: 'q' }] });
    const provider = providerOn(peer, { QueueName: 'q' }, { closeTimeoutMs: 2_000 });
    try {
      await provider.send({ body: 'before' });
      const [before] = await receiveAtLeast((o) => provider.receive(o), 1);
      await provider.complete(before!);
      peer.dropConnections();
      // Let the client see the socket go; a send racing the drop would wait out its operation timeout first.
      await sleep(300);
      await provider.send({ body: 'after' });
      const [after] = await receiveAtLeast((o) => provider.receive(o), 1);
      expect(after!.body).toBe('after');
      await provider.complete(after!);
      expect(peer.counts('q')).toEqual({ active: 0, locked: 0, deferred: 0, scheduled: 0 });
      peer.dropConnections();
    } finally {
      await provider.close();
      await peer.stop();
    }
  });

  it('refuses a plain receiver on a session-enabled queue and a message without a session id', async () => {
    const peer = await startServiceBusPeer({ entities: [{ name: 'sessions', requiresSession: true }] });
    const provider = providerOn(peer, { QueueName: 'sessions' });
    try {
      const sendErr = await provider.send({ body: 'no session' }).catch((e: unknown) => e);
      expect(sendErr).toBeInstanceOf(QueueProviderError);
      expect((sendErr as QueueProviderError).message).toMatch(/requires sessions/);
      await provider.send({ body: 'with session', sessionId: 's1' });
      const receiveErr = await provider.receive({ maxMessages: 1, waitMs: 100 }).catch((e: unknown) => e);
      expect(receiveErr).toBeInstanceOf(QueueProviderError);
      expect((receiveErr as QueueProviderError).message).toMatch(/requires a session receiver/);
      expect(peer.counts('sessions').active).toBe(1);
    } finally {
      await provider.close();
      await peer.stop();
    }
  });
});
