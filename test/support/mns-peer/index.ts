/**
 * A local Alibaba MNS peer for tests and benchmarks: an HTTP server speaking the service's protocol
 * for the subset `@alicloud/mns` uses (queues, single and batch send/receive/delete, visibility,
 * long polling, attributes), checking each request's signature. Point the real SDK at `endpoint`.
 */
import type { AddressInfo } from 'node:net';
import { MnsPeerServer, type PeerCredentials } from './server.js';

export interface MnsPeerHandle {
  endpoint: string;
  accountId: string;
  /** The peer's state (tests may inspect queues). */
  peer: MnsPeerServer;
  stop(): Promise<void>;
}

export async function startMnsPeer(
  opts: PeerCredentials & { accountId?: string; host?: string; port?: number },
): Promise<MnsPeerHandle> {
  const accountId = opts.accountId ?? '1234567890123456';
  const peer = new MnsPeerServer({
    accountId,
    accessKeyId: opts.accessKeyId,
    accessKeySecret: opts.accessKeySecret,
    ...(opts.securityToken !== undefined ? { securityToken: opts.securityToken } : {}),
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    peer.server.once('error', reject);
    peer.server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = peer.server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    accountId,
    peer,
    stop: () =>
      new Promise<void>((resolve) => {
        peer.server.closeAllConnections();
        peer.server.close(() => resolve());
      }),
  };
}

export type { PeerCredentials } from './server.js';
