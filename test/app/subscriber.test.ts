/**
 * `npm run subscriber` as a separate process (tools/subscriber.ts), ingesting from a Storage queue
 * (Azurite), from the MNS peer and from the Service Bus peer (prefetch on), against the real database behind the fault proxy. SIGTERM comes
 * while a batch is in flight for certain: the proxy holds that batch's bulk insert until the test has
 * seen the subscriber draining (readiness 503, process alive), then lets it through. The first process
 * must finish that batch (store, settle) and exit 0 without receiving again; a second one ingests the
 * rest. Every message becomes exactly one task, and none is left unacknowledged on the queue.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueueProvider } from '../../lib/queues/provider.js';
import { createMnsProvider } from '../../lib/queues/mns/index.js';
import { createServiceBusProvider } from '../../lib/queues/service-bus/index.js';
import { loadConfig } from '../../lib/config/index.js';
import { StorageQueueProvider } from '../../lib/queues/storage-queue/provider.js';
import type { Task } from '../../lib/tasks/model.js';
import { startFaultProxy, type FaultProxy } from '../support/mongo-fault-proxy/index.js';
import { startMnsPeer, type MnsPeerHandle } from '../support/mns-peer/index.js';
import { startServiceBusPeer } from '../support/service-bus-peer/index.js';
import { azuriteConnectionString, mongoUri } from '../support/services.js';

const MESSAGES = 23;
const BATCH = 5;

interface Running {
  child: ChildProcess;
  probe: string;
  lines: Record<string, unknown>[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** Starts tools/subscriber.ts and resolves once it logged `readyLine` (which carries the probe port). */
function startSubscriberProcess(env: Record<string, string>, readyLine = 'subscriber ready'): Promise<Running> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'tools/subscriber.ts', '--probe-port', '0', '--probe-host', '127.0.0.1'],
    { cwd: process.cwd(), env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  return new Promise((resolve, reject) => {
    // JSON log lines: info on stdout, warnings and errors on stderr.
    const follow = (stream: NodeJS.ReadableStream, keep: boolean) => {
      let buffered = '';
      stream.on('data', (d: Buffer) => {
        if (keep) stderr += d.toString();
        buffered += d.toString();
        const parts = buffered.split('\n');
        buffered = parts.pop() ?? '';
        for (const p of parts) {
          if (!p.startsWith('{')) continue;
          const line = JSON.parse(p) as Record<string, unknown>;
          lines.push(line);
          if (line.msg === readyLine)
            resolve({ child, probe: `http://127.0.0.1:${String(line.probePort)}`, lines, exit });
        }
      });
    };
    follow(child.stdout!, false);
    follow(child.stderr!, true);
    void exit.then((e) => reject(new Error(`subscriber exited before it was ready (${e.code}): ${e.stderr}`)));
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, budgetMs = 60_000): Promise<T> {
  const end = Date.now() + budgetMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const readiness = async (probe: string) => (await fetch(`${probe}/readyz`)).status;

interface Kit {
  name: string;
  env: Record<string, string>;
  producer: QueueProvider;
  stop(): Promise<void>;
}

async function storageQueueKit(suffix: string): Promise<Kit> {
  const connectionString = await azuriteConnectionString();
  const queueName = `sub-${suffix}`;
  const producer = new StorageQueueProvider({
    connectionString,
    queueName,
    visibilityTimeoutMs: 60_000,
    maxDequeueCount: 5,
    maxPollIntervalMs: 250,
    redelivery: { baseMs: 10, capMs: 100 },
  });
  return {
    name: 'storage-queue',
    env: {
      Ingest__Provider: 'storage-queue',
      AzureStorage__ConnectionString: connectionString,
      AzureStorage__QueueName: queueName,
      AzureStorage__MaxPollingInterval: '250',
    },
    producer,
    stop: () => producer.close(),
  };
}

async function mnsKit(suffix: string): Promise<Kit & { peer: MnsPeerHandle }> {
  const credentials = { accessKeyId: 'sub-key', accessKeySecret: `sub-secret-${suffix}` };
  const peer = await startMnsPeer(credentials);
  const queueName = `sub-${suffix}`;
  const env = {
    Ingest__Provider: 'mns',
    Aliyun__MNSEndpoint: peer.endpoint,
    Aliyun__AccountId: peer.accountId,
    Aliyun__QueueName: queueName,
    Aliyun__DeadLetterQueueName: `${queueName}-dlq`,
    Aliyun__AccessKeyId: credentials.accessKeyId,
    Aliyun__AccessKeySecret: credentials.accessKeySecret,
  };
  const producer = createMnsProvider(loadConfig({ env }).Aliyun, { credentials });
  return {
    name: 'mns',
    env,
    producer,
    peer,
    stop: async () => {
      await producer.close();
      await peer.stop();
    },
  };
}

/** Service Bus with its default prefetch (50): messages prefetched beyond the batch are handed back on close. */
async function serviceBusKit(suffix: string): Promise<Kit> {
  const queueName = `sub-${suffix}`;
  const peer = await startServiceBusPeer({ entities: [{ name: queueName, lockDurationMs: 60_000 }] });
  const env = {
    Ingest__Provider: 'service-bus',
    AzureServiceBus__ConnectionString: peer.connectionString,
    AzureServiceBus__QueueName: queueName,
  };
  const producer = createServiceBusProvider(loadConfig({ env }).AzureServiceBus);
  return {
    name: 'service-bus',
    env,
    producer,
    stop: async () => {
      await producer.close();
      await peer.stop();
    },
  };
}

describe.each([
  ['Storage queue (Azurite)', storageQueueKit],
  ['MNS (local peer)', mnsKit],
  ['Service Bus queue (AMQP peer)', serviceBusKit],
])('npm run subscriber from a %s', (_name, makeKit) => {
  const suffix = randomBytes(3).toString('hex');
  const database = `sub_${suffix}`;
  let kit: Kit;
  let proxy: FaultProxy;
  let client: MongoClient;
  let db: Db;
  let env: Record<string, string>;

  beforeAll(async () => {
    kit = await makeKit(suffix);
    proxy = await startFaultProxy({ target: await mongoUri() });
    client = await new MongoClient(await mongoUri()).connect();
    db = client.db(database);
    env = {
      ...kit.env,
      MONGODB_URI: proxy.uri,
      MongoDB__DatabaseName: database,
      Ingest__BatchSize: String(BATCH),
      Ingest__ReceiveWaitTime: '500',
      LOG_LEVEL: 'info',
    };
    await kit.producer.ensureQueues();
    await kit.producer.sendBatch(
      Array.from({ length: MESSAGES }, (_, n) => ({ body: JSON.stringify({ type: 'echo', payload: { n } }) })),
    );
  });
  afterAll(async () => {
    await proxy?.stop();
    await db?.dropDatabase();
    await client?.close();
    await kit?.stop();
  });
  const tasks = () => db.collection<Task>('tasks');
  const unsettled = async () => {
    const h = await kit.producer.health();
    expect(h.reachable).toBe(true);
    // Storage queues count hidden (received, unsettled) messages in depth; MNS reports them as inFlight.
    return { waiting: (h.depth ?? 0) + (h.inFlight ?? 0), deadLetters: h.deadLetterDepth ?? 0 };
  };

  it('SIGTERM mid-batch: the batch in flight is stored and settled, nothing more is received, exit 0', async () => {
    await proxy.addRule({
      id: 'hold-ingest',
      match: { command: 'insert', collection: 'tasks' },
      fault: { kind: 'delayRequest', ms: 600_000 },
      count: 1,
    });
    const first = await startSubscriberProcess(env);
    expect(await readiness(first.probe)).toBe(200);
    // The first batch's bulk insert is held in the proxy: the batch is in flight.
    await until('the held insert', async () => {
      const rule = (await proxy.counters()).rules.find((r) => r.id === 'hold-ingest');
      return rule && rule.injected > 0 ? true : undefined;
    });
    first.child.kill('SIGTERM');
    await until('readiness to report draining', async () =>
      (await readiness(first.probe)) === 503 ? true : undefined,
    );
    expect(first.child.exitCode).toBeNull();
    expect(await tasks().countDocuments({})).toBe(0);

    await proxy.heal();
    const exited = await first.exit;
    expect(exited, exited.stderr).toMatchObject({ code: 0, signal: null });
    const stopped = first.lines.find((l) => l.msg === 'subscriber stopped');
    expect(stopped).toMatchObject({
      batches: 1,
      received: BATCH,
      stored: BATCH,
      completed: BATCH,
      abandoned: 0,
      settleFailures: 0,
      stoppedBecause: 'SIGTERM',
    });
    // Its batch became tasks and left the queue; the rest waits, none of it taken and left hidden.
    expect(await tasks().countDocuments({})).toBe(BATCH);
    expect(await unsettled()).toEqual({ waiting: MESSAGES - BATCH, deadLetters: 0 });
  });

  it('a second subscriber ingests the rest: every message is exactly one task, none left unacknowledged', async () => {
    const second = await startSubscriberProcess(env);
    await until('every message ingested', async () =>
      (await tasks().countDocuments({})) >= MESSAGES ? true : undefined,
    );
    second.child.kill('SIGTERM');
    const exited = await second.exit;
    expect(exited, exited.stderr).toMatchObject({ code: 0, signal: null });

    const all = await tasks().find({}).toArray();
    expect(all).toHaveLength(MESSAGES);
    const ns = all.map((t) => (t.payload as { n: number }).n).sort((a, b) => a - b);
    expect(ns).toEqual(Array.from({ length: MESSAGES }, (_, n) => n));
    expect(new Set(all.map((t) => t.source?.messageId)).size).toBe(MESSAGES);
    expect(all.every((t) => t.source?.provider === kit.name)).toBe(true);
    expect(await unsettled()).toEqual({ waiting: 0, deadLetters: 0 });
  });

  it('an idle SIGTERM ends the long poll: exit 0 with nothing received, even with ReceiveWaitTime 30 s', async () => {
    // The queue is empty now. This test's own timeout is shorter than the long poll: a stop that sat it
    // out would not finish in time.
    const idle = await startSubscriberProcess({ ...env, Ingest__ReceiveWaitTime: '30000' });
    // Let the loop get into its long poll.
    await new Promise((r) => setTimeout(r, 1_000));
    idle.child.kill('SIGTERM');
    const exited = await idle.exit;
    expect(exited, exited.stderr).toMatchObject({ code: 0, signal: null });
    expect(idle.lines.find((l) => l.msg === 'subscriber stopped')).toMatchObject({
      batches: 0,
      received: 0,
      stoppedBecause: 'SIGTERM',
    });
    expect(await tasks().countDocuments({})).toBe(MESSAGES);
  }, 25_000);
});

describe('npm run subscriber before the database is reachable', () => {
  it('is alive but not ready while it waits for the database, and a SIGTERM then exits 0', async () => {
    const kit = await storageQueueKit(randomBytes(3).toString('hex'));
    const proxy = await startFaultProxy({ target: await mongoUri() });
    await proxy.addRule({ fault: { kind: 'refuseConnection' } });
    try {
      const sub = await startSubscriberProcess(
        { ...kit.env, MONGODB_URI: proxy.uri, MongoDB__DatabaseName: 'sub_waiting' },
        'probes listening',
      );
      await until('a failed connection attempt', async () =>
        sub.lines.some((l) => l.msg === 'database not reachable yet; retrying') ? true : undefined,
      );
      expect((await fetch(`${sub.probe}/healthz`)).status).toBe(200);
      const ready = await fetch(`${sub.probe}/readyz`);
      expect([ready.status, await ready.json()]).toEqual([503, { status: 'unavailable', detail: 'connecting' }]);
      sub.child.kill('SIGTERM');
      const exited = await sub.exit;
      expect(exited, exited.stderr).toMatchObject({ code: 0, signal: null });
    } finally {
      await proxy.stop();
      await kit.stop();
    }
  });
});
