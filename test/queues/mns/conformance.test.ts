import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { MnsQueueProvider } from '../../../lib/queues/mns/provider.js';
import { startMnsPeer, type MnsPeerHandle } from '../../support/mns-peer/index.js';
import { describeQueueProviderConformance } from '../conformance.js';

const credentials = { accessKeyId: 'conformance-id', accessKeySecret: `secret-${randomBytes(8).toString('hex')}` };
let peer: MnsPeerHandle;

beforeAll(async () => {
  peer = await startMnsPeer(credentials);
});
afterAll(async () => {
  await peer?.stop();
});

describeQueueProviderConformance('Alibaba MNS (local peer)', async () => {
  const name = `conf-${randomBytes(4).toString('hex')}`;
  const provider = new MnsQueueProvider({
    accountId: peer.accountId,
    endpoint: peer.endpoint,
    credentials,
    queueName: name,
    deadLetterQueueName: `${name}-dlq`,
    maxReceiveCount: 10,
    visibilityTimeoutMs: 3_000,
  });
  return { provider, cleanup: async () => undefined };
});
