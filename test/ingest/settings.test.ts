/** The Ingest and AzureStorage configuration sections. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/config/errors.js';
import { loadConfig, settingNames } from '../../lib/config/load.js';
import { ingestVisibilityTimeoutMs } from '../../lib/queues/factory.js';

describe('Ingest and AzureStorage settings', () => {
  it('have the documented defaults', () => {
    const c = loadConfig({ env: {} });
    expect(c.Ingest).toMatchObject({
      Provider: 'storage-queue',
      BatchSize: 16,
      Concurrency: 8,
      MessageTimeout: 300_000,
      MaxBodyBytes: 65_536,
      MaxDeliveryCount: 5,
      TaskTypeProperty: 'taskType',
    });
    expect(c.Handlers.ExtraTypes).toBeUndefined();
    expect(c.Handlers.AllowUnknownTypes).toBe(false);
    expect(c.Ingest.DefaultTaskType).toBeUndefined();
    expect(ingestVisibilityTimeoutMs(c.Ingest)).toBe(330_000);
    expect(c.AzureStorage).toMatchObject({
      ConnectionString: 'UseDevelopmentStorage=true',
      QueueName: 'tasks',
      DispatchQueueName: 'tasks-dispatch',
      PoisonQueueSuffix: '-poison',
      MessageEncoding: 'base64',
    });
  });

  it('read Section__Key environment variables', () => {
    const c = loadConfig({
      env: {
        Ingest__Provider: 'mns',
        Ingest__MessageTimeout: '00:01:00',
        Handlers__ExtraTypes: 'a, b ,c',
        AzureStorage__MessageEncoding: 'text',
        Ingest__VisibilityTimeout: '45s',
      },
    });
    expect(c.Ingest).toMatchObject({
      Provider: 'mns',
      MessageTimeout: 60_000,
      VisibilityTimeout: 45_000,
    });
    expect(c.Handlers.ExtraTypes).toEqual(['a', 'b', 'c']);
    expect(c.AzureStorage.MessageEncoding).toBe('text');
    expect(settingNames()).toEqual(
      expect.arrayContaining(['Ingest__Provider', 'AzureStorage__ConnectionString', 'AzureStorage__DispatchQueueName']),
    );
  });

  it("list every bad key at once, never echoing the connection string's key", () => {
    const secret = 'c2VjcmV0LWtleQ==';
    let err: unknown;
    try {
      loadConfig({
        env: {
          Ingest__Provider: 'kafka',
          AzureStorage__QueueName: 'Bad_Name',
          AzureStorage__ConnectionString: `DefaultEndpointsProtocol=http;AccountName=a;AccountKey=${secret}`,
          Ingest__BatchSize: '0',
          AzureStorage__MessageEncoding: 'xml',
        },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => p.key).sort()).toEqual([
      'AzureStorage:MessageEncoding',
      'AzureStorage:QueueName',
      'Ingest:BatchSize',
      'Ingest:Provider',
    ]);
    expect((err as ConfigError).message).not.toContain(secret);
  });
});
