/**
 * The Azure app's wake-ups: every task that becomes claimable through its services sends a message to
 * the dispatch storage queue (Azurite); a retry's wake-up is sent with a visibility delay, so it is not
 * delivered before the retry is due.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetSharedServices, type AppServices } from '../../lib/app/services.js';
import { loadConfig } from '../../lib/config/index.js';
import { createQueueProvider } from '../../lib/queues/factory.js';
import type { QueueMessage, QueueProvider } from '../../lib/queues/provider.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { azuriteConnectionString, mongoUri } from '../support/services.js';
import { waitFor } from '../worker/helpers.js';

const suffix = randomBytes(3).toString('hex');
const env = {
  MONGODB_URI: await mongoUri(),
  MongoDB__DatabaseName: `azwake_${suffix}`,
  AzureStorage__ConnectionString: await azuriteConnectionString(),
  AzureStorage__DispatchQueueName: `dispatch-${suffix}`,
  AzureStorage__QueueName: `ingest-${suffix}`,
  Worker__RetryBaseDelay: '2500',
  Worker__RetryMaxDelay: '2500',
  Admin__ApiKey: 'unused-on-azure',
};

describe('Azure app: wake-ups through the dispatch queue', () => {
  let s: AppServices;
  let dispatch: QueueProvider;
  beforeAll(async () => {
    Object.assign(process.env, env);
    const { services } = await import('../../functions/azure/services.js');
    s = await services();
    dispatch = await createQueueProvider(loadConfig({ env: { ...process.env } }), { queue: 'dispatch' });
  });
  afterAll(async () => {
    await s.database.db.dropDatabase().catch(() => undefined);
    await resetSharedServices();
    await dispatch.close();
  });

  const take = async (): Promise<{ body: { kind: string; stored: number; at: string }; at: number }[]> => {
    const got: QueueMessage[] = await dispatch.receive({ maxMessages: 32, waitMs: 0 });
    for (const m of got) await dispatch.complete(m);
    return got.map((m) => ({
      body: JSON.parse(m.body) as { kind: string; stored: number; at: string },
      at: Date.now(),
    }));
  };

  it("a created task and a retry each send a wake-up; the retry's is not delivered before it is due", async () => {
    await s.store.ingest([{ type: 'echo', payload: 1, idempotencyKey: `a-${suffix}` }]);
    const created = await waitFor(async () => {
      const m = await take();
      return m.length ? m : undefined;
    }, 'the wake-up of the created task');
    expect(created.map((m) => m.body)).toEqual([expect.objectContaining({ kind: 'wake', stored: 1 })]);

    const [claimed] = await s.store.claim('w1', { limit: 1 });
    const failed = await s.store.fail(claimed!.lease, { message: 'try again' });
    expect(failed.status).toBe(S.Retrying);
    const due = failed.nextAttemptAt!.getTime();
    const retry = await waitFor(
      async () => {
        const m = await take();
        return m.length ? m : undefined;
      },
      'the delayed wake-up',
      30_000,
      100,
    );
    expect(retry.map((m) => m.body)).toEqual([expect.objectContaining({ kind: 'wake', stored: 1 })]);
    expect(retry[0]!.at).toBeGreaterThanOrEqual(due);
    expect(Date.parse(retry[0]!.body.at)).toBeGreaterThanOrEqual(due);
  });
});
