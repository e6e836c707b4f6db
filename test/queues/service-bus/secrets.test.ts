/** The SAS key never shows in errors, health or logs, whatever fails. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../lib/config/errors.js';
import { createLogger } from '../../../lib/log/logger.js';
import { QueueProviderError } from '../../../lib/queues/provider.js';
import { createServiceBusProvider, resolveServiceBusAuth } from '../../../lib/queues/service-bus/index.js';
import { startServiceBusPeer, type ServiceBusPeer } from '../../support/service-bus-peer/index.js';
import { fastRetry, serviceBusSettings } from './helpers.js';

const secret = 'Sup3rS3cretKeyValue+/==';
let peer: ServiceBusPeer;

beforeAll(async () => {
  peer = await startServiceBusPeer({ entities: [{ name: 'jobs' }], sharedAccessKey: 'the-right-key' });
});
afterAll(async () => {
  await peer?.stop();
});

function everythingSaid(err: unknown): string {
  const e = err as Error & { details?: unknown; cause?: unknown };
  return [
    e.message,
    e.stack,
    JSON.stringify(e),
    JSON.stringify(e.details),
    String(e.cause && (e.cause as Error).message),
  ].join('\n');
}

describe('Service Bus secrets', () => {
  it('a wrong SAS key fails as UnauthorizedAccess without the key in the error, the health report or the logs', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', sink: (line) => lines.push(line) });
    const cs = `Endpoint=sb://127.0.0.1:${peer.port};SharedAccessKeyName=k;SharedAccessKey=${secret};UseDevelopmentEmulator=true`;
    const provider = createServiceBusProvider(serviceBusSettings({ ConnectionString: cs, QueueName: 'jobs' }), {
      retry: fastRetry,
      logger,
    });
    try {
      const err = await provider.send({ body: 'x' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QueueProviderError);
      expect((err as QueueProviderError).details).toMatchObject({
        provider: 'service-bus',
        queue: 'jobs',
        operation: 'send',
        code: 'UnauthorizedAccess',
        transient: false,
      });
      expect(everythingSaid(err)).not.toContain(secret);

      const health = await provider.health();
      expect(health.reachable).toBe(false);
      expect(health.error).toMatch(/UnauthorizedAccess/);
      expect(JSON.stringify(health)).not.toContain(secret);
    } finally {
      await provider.close();
    }
    expect(lines.join('\n')).not.toContain(secret);
  });

  it('a malformed connection string is reported without its key', () => {
    let err: unknown;
    try {
      resolveServiceBusAuth({ ConnectionString: `SharedAccessKeyName=k;SharedAccessKey=${secret}` });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/AzureServiceBus:ConnectionString/);
    expect(everythingSaid(err)).not.toContain(secret);
  });
});
