import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDuration, settingNames } from '../../lib/config/index.js';
import { createLogger } from '../../lib/log/logger.js';

const SECRET = 'Sup3rS3cretValue+/=';

describe('durations', () => {
  it.each([
    ['00:00:10', 10_000],
    ['00:05:00', 300_000],
    ['01:00:00', 3_600_000],
    ['1.02:03:04', 93_784_000],
    ['00:00:00.5', 500],
    ['250', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['7d', 604_800_000],
  ])('%s = %d ms', (input, ms) => expect(parseDuration(input)).toBe(ms));
  it.each(['10', 'abc', '00:61:00', '-5', '1:2'])('rejects %s where it is not a duration', (input) => {
    if (input === '10') return expect(parseDuration(input)).toBe(10);
    expect(parseDuration(input)).toBeUndefined();
  });
});

describe('loadConfig', () => {
  it('has the seed defaults, with HeartbeatTimeout 5 minutes', () => {
    const c = loadConfig({ env: {} });
    expect(c.Worker).toMatchObject({
      BatchSize: 10,
      PollingInterval: 10_000,
      HeartbeatInterval: 30_000,
      MaxRetries: 3,
      HeartbeatTimeout: 300_000,
    });
    expect(c.MongoDB.DatabaseName).toBe('taskmesh');
    expect(c.AzureServiceBus).toMatchObject({
      MaxConcurrentCalls: 100,
      PrefetchCount: 50,
      MaxAutoLockRenewalDuration: 300_000,
      EnablePartitioning: true,
    });
  });

  it('layers defaults < settings file < Section__Key env vars < overrides', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'appsettings.json');
    writeFileSync(
      file,
      JSON.stringify({
        Worker: { BatchSize: 20, PollingInterval: '00:00:02', MaxRetries: 7 },
        MongoDB: { DatabaseName: 'fromfile' },
        Logging: { LogLevel: 'x' },
      }),
    );
    const c = loadConfig({
      file,
      env: { Worker__BatchSize: '30', worker__heartbeatinterval: '00:00:05' },
      overrides: { Worker: { MaxRetries: 1 } },
    });
    expect(c.Worker).toMatchObject({ BatchSize: 30, PollingInterval: 2_000, HeartbeatInterval: 5_000, MaxRetries: 1 });
    expect(c.MongoDB.DatabaseName).toBe('fromfile');
  });

  it('MONGODB_URI wins for the connection string', () => {
    expect(
      loadConfig({ env: { MongoDB__ConnectionString: 'mongodb://a:1', MONGODB_URI: 'mongodb://b:2' } }).MongoDB
        .ConnectionString,
    ).toBe('mongodb://b:2');
  });

  it('lists every bad key in one error, with what was given and what is expected', () => {
    let err: unknown;
    try {
      loadConfig({
        env: {
          Worker__BatchSize: 'lots',
          Worker__PollingInterval: 'soon',
          AzureServiceBus__EnablePartitioning: 'maybe',
          Worker__MaxRetries: '-1',
        },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.problems.map((p) => p.key).sort()).toEqual([
      'AzureServiceBus:EnablePartitioning',
      'Worker:BatchSize',
      'Worker:MaxRetries',
      'Worker:PollingInterval',
    ]);
    const batch = e.problems.find((p) => p.key === 'Worker:BatchSize')!;
    expect(batch).toMatchObject({ envVar: 'Worker__BatchSize', given: '"lots"', source: 'env' });
    expect(batch.expected).toMatch(/whole number/);
    expect(e.message).toContain('Worker:PollingInterval');
    expect(e.message).toMatch(/hh:mm:ss/);
    expect(e.message).toContain('"maybe"');
  });

  it('never puts a secret in the error: connection strings are redacted, secret keys masked', () => {
    const env = {
      MongoDB__ConnectionString: `postgres://admin:${SECRET}@db:5432`,
      Aliyun__MNSEndpoint: 'ftp://nope',
      Aliyun__AccessKeySecret: SECRET,
      Worker__BatchSize: '0',
    };
    let err: ConfigError | undefined;
    try {
      loadConfig({ env });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.message).not.toContain(SECRET);
    expect(JSON.stringify(err!.problems)).not.toContain(SECRET);
    expect(err!.message).toContain('MongoDB:ConnectionString');
    expect(err!.message).toContain('admin:***@');

    let bad: ConfigError | undefined;
    try {
      loadConfig({ env: { MongoDB__ConnectionString: `mongodb://u:${SECRET}@h/db`, Worker__BatchSize: 'x' } });
    } catch (e) {
      bad = e as ConfigError;
    }
    expect(bad!.message).not.toContain(SECRET);
  });

  it('refuses a HeartbeatTimeout under 3 HeartbeatIntervals, naming both settings (issue 19, case 3)', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig({ env });
        return [];
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).problems;
      }
    };
    const [p] = problems({ Worker__HeartbeatInterval: '00:00:01', Worker__HeartbeatTimeout: '00:00:02' });
    expect(p).toMatchObject({ key: 'Worker:HeartbeatTimeout', source: 'env', given: '"00:00:02"' });
    expect(p!.expected).toContain('Worker:HeartbeatInterval');
    expect(problems({ Worker__HeartbeatInterval: '00:00:01', Worker__HeartbeatTimeout: '00:00:03' })).toEqual([]);
  });

  it('refuses retention settings that forget an idempotency key within 7 days of the task finishing (issue 19, case 6)', () => {
    const short = { Retention__ArchiveAfter: '1', Retention__DeleteAfter: '1', Retention__PurgeAfter: '1' };
    expect(() => loadConfig({ env: { ...short, Retention__ForgetKeysAfter: '1.00:00:00' } })).toThrow(
      /Retention:ForgetKeysAfter/,
    );
    expect(loadConfig({ env: short }).Retention.ForgetKeysAfter).toBe(30 * 86_400_000);
  });

  it('reports a settings file that cannot be read', () => {
    expect(() => loadConfig({ env: {}, file: '/nonexistent/settings.json' })).toThrow(ConfigError);
  });

  it('exposes every setting name in Section__Key form', () => {
    const names = settingNames();
    expect(names).toEqual(
      expect.arrayContaining([
        'MongoDB__ConnectionString',
        'MongoDB__DatabaseName',
        'Worker__BatchSize',
        'Worker__PollingInterval',
        'Worker__HeartbeatInterval',
        'Worker__MaxRetries',
        'Worker__HeartbeatTimeout',
        'Aliyun__AccessKeyId',
        'Aliyun__AccessKeySecret',
        'Aliyun__MNSEndpoint',
        'Aliyun__QueueName',
        'Aliyun__DeadLetterQueueName',
        'AzureServiceBus__ConnectionString',
        'AzureServiceBus__QueueName',
        'AzureServiceBus__TopicName',
        'AzureServiceBus__SubscriptionName',
        'AzureServiceBus__MaxConcurrentCalls',
        'AzureServiceBus__PrefetchCount',
        'AzureServiceBus__MaxAutoLockRenewalDuration',
        'AzureServiceBus__EnablePartitioning',
      ]),
    );
  });
});

describe('logs', () => {
  it('redact secrets in fields and connection strings in messages', () => {
    const lines: string[] = [];
    const log = createLogger({ sink: (l) => lines.push(l) });
    log.info('connecting', {
      uri: `mongodb://u:${SECRET}@h`,
      accessKeySecret: SECRET,
      sb: `Endpoint=sb://x/;SharedAccessKeyName=k;SharedAccessKey=${SECRET}`,
      nested: { password: SECRET },
    });
    log.child({ workerId: 'w1' }).error('failed', { err: new Error(`auth failed for mongodb://u:${SECRET}@h`) });
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l).not.toContain(SECRET);
    expect(JSON.parse(lines[1]!)).toMatchObject({ level: 'error', msg: 'failed', workerId: 'w1' });
  });
});

describe('empty settings', () => {
  it('mean "not set": the default applies (templates list every key, some empty)', () => {
    const c = loadConfig({
      env: {
        Worker__BatchSize: '',
        Worker__PollingInterval: '  ',
        Worker__Concurrency: '',
        AzureServiceBus__EnablePartitioning: '',
      },
    });
    expect(c.Worker.BatchSize).toBe(10);
    expect(c.Worker.PollingInterval).toBe(10_000);
    expect(c.Worker.Concurrency).toBeUndefined();
    expect(c.AzureServiceBus.EnablePartitioning).toBe(true);
  });
});
