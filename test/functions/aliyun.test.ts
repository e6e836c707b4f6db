/**
 * The Function Compute 3.0 handlers, called exactly as the FC runtime calls them: an event Buffer and
 * a context with credentials and function facts, against the real database, the MNS peer (real
 * @alicloud/mns client, signatures checked) and the FC API peer (real @alicloud/fc20230330 client).
 */
import { randomBytes } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetSharedServices } from '../../lib/app/services.js';
import { createMnsProvider } from '../../lib/queues/mns/index.js';
import { loadConfig } from '../../lib/config/index.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import type { Task } from '../../lib/tasks/model.js';
import { startMnsPeer, type MnsPeerHandle } from '../support/mns-peer/index.js';
import { startFcPeer, type FcPeer } from '../support/fc-peer/index.js';
import { mongoUri } from '../support/services.js';
import { startHookServer } from '../support/hook-server.js';

const suffix = randomBytes(3).toString('hex');
const KEY = { accessKeyId: 'STS.fc-role', accessKeySecret: 'sts-secret', securityToken: 'sts-token' };
const context = (name: string) => ({
  requestId: randomBytes(8).toString('hex'),
  credentials: KEY,
  // Processors need a function timeout above Worker:TaskTimeout (5 min) or they claim nothing (the templates use 600 s).
  function: { name, handler: `dist/functions/aliyun/index.${name}`, memory: 512, timeout: 600 },
  region: 'cn-hangzhou',
  accountId: '1234567890123456',
  logger: console,
});
const timerEvent = (name: string) =>
  Buffer.from(JSON.stringify({ triggerTime: new Date().toISOString(), triggerName: name, payload: '' }));
const httpEvent = (method: string, path: string, headers: Record<string, string> = {}, body = '') =>
  Buffer.from(
    JSON.stringify({
      version: 'v1',
      rawPath: path,
      body,
      isBase64Encoded: false,
      headers,
      queryParameters: {},
      requestContext: { http: { method, path }, requestId: 'r' },
    }),
  );

describe('Function Compute 3.0 handlers', () => {
  let mns: MnsPeerHandle;
  let fc: FcPeer;
  let client: MongoClient;
  let db: Db;
  let fns: typeof import('../../functions/aliyun/index.js');
  beforeAll(async () => {
    mns = await startMnsPeer({
      accessKeyId: KEY.accessKeyId,
      accessKeySecret: KEY.accessKeySecret,
      securityToken: KEY.securityToken,
    });
    fc = await startFcPeer({ accessKeyId: KEY.accessKeyId, accessKeySecret: KEY.accessKeySecret });
    Object.assign(process.env, {
      MONGODB_URI: await mongoUri(),
      MongoDB__DatabaseName: `fc_${suffix}`,
      Aliyun__MNSEndpoint: mns.endpoint,
      Aliyun__AccountId: mns.accountId,
      Aliyun__QueueName: `tasks-${suffix}`,
      Aliyun__DeadLetterQueueName: `tasks-${suffix}-dlq`,
      FunctionCompute__Endpoint: fc.endpoint,
      FunctionCompute__FanOut: '2',
      Admin__ApiKey: 'fc-admin-key',
      Worker__PollingInterval: '100',
      Ingest__ReceiveWaitTime: '0',
    });
    fns = await import('../../functions/aliyun/index.js');
    client = await new MongoClient(await mongoUri()).connect();
    db = client.db(`fc_${suffix}`);
  });
  afterAll(async () => {
    await resetSharedServices();
    await db.dropDatabase();
    await client.close();
    await mns.stop();
    await fc.stop();
  });
  const tasks = () => db.collection<Task>('tasks');

  it('mns-puller pulls the queue empty, stores the tasks, dead-letters a bad message, and fans out processors asynchronously', async () => {
    // A producer sends to MNS (the queue is created by the puller's first run, or by this producer).
    const producer = createMnsProvider(loadConfig({ env: { ...process.env } }).Aliyun, { credentials: KEY });
    await producer.ensureQueues();
    await producer.sendBatch([
      { body: JSON.stringify({ type: 'echo', payload: { text: '<b>&amp; ünïcødé</b>' } }) },
      { body: JSON.stringify({ type: 'echo', payload: { n: 2 } }) },
      { body: '{"type": "echo", "payload": {"$where": "1"}}' },
    ]);
    const result = await fns.puller(timerEvent('mns-puller'), context('mns-puller'));
    expect(result).toMatchObject({ stored: 2, rejected: 1, deadLettered: 1, stoppedBecause: 'empty' });
    expect(await tasks().countDocuments({ status: S.Queued })).toBe(2);
    expect(await tasks().findOne({ 'payload.text': '<b>&amp; ünïcødé</b>' })).not.toBeNull();
    expect(await tasks().countDocuments({ status: S.Failed })).toBe(1);
    const dead = await producer.receiveDeadLetters({ maxMessages: 10, waitMs: 0 });
    expect(dead).toHaveLength(1);
    // The fan-out reached FC's API as FC 3.0 async invocations of the processor, correctly signed.
    expect(fc.rejected).toEqual([]);
    expect(fc.invocations.map((i) => [i.functionName, i.invocationType])).toEqual([
      ['processor', 'Async'],
      ['processor', 'Async'],
    ]);
    expect(fc.invocations[0]!.headers['x-acs-security-token']).toBe(KEY.securityToken);
    await producer.close();
  });

  it('processor (the async invocation) runs the tasks to Succeeded', async () => {
    const summary = await fns.processor(Buffer.from(fc.invocations[0]!.body), context('processor'));
    expect(summary.outcomes.succeeded).toBe(2);
    expect(await tasks().countDocuments({ status: S.Succeeded })).toBe(2);
  });

  it('processor-sweep runs retries that came due', async () => {
    const now = new Date();
    await tasks().insertOne({
      _id: `due-${suffix}`,
      type: 'echo',
      payload: 'again',
      priority: 0,
      status: S.Retrying,
      version: 4,
      idempotencyKey: `due-${suffix}`,
      attempts: 1,
      maxRetries: 3,
      nextAttemptAt: new Date(now.getTime() - 1000),
      owner: null,
      heartbeatAt: null,
      cancelRequested: false,
      errors: [],
      history: [],
      createdAt: now,
      updatedAt: now,
    });
    const summary = await fns.sweep(timerEvent('processor-sweep'), context('processor-sweep'));
    expect(summary.outcomes.succeeded).toBe(1);
    expect(await tasks().findOne({ _id: `due-${suffix}` })).toMatchObject({
      status: S.Succeeded,
      attempts: 2,
      result: 'again',
    });
  });

  it('reclaimer runs a pass', async () => {
    const summary = await fns.reclaimer(timerEvent('reclaimer'), context('reclaimer'));
    expect(summary.ok).toBe(true);
  });

  it('admin answers the HTTP trigger, and refuses a request without the key', async () => {
    const denied = await fns.admin(httpEvent('GET', '/api/tasks'), context('admin'));
    expect(denied.statusCode).toBe(401);
    expect(denied.body).not.toContain('echo');
    const ok = await fns.admin(httpEvent('GET', '/api/tasks', { 'x-functions-key': 'fc-admin-key' }), context('admin'));
    expect(ok.statusCode).toBe(200);
    expect((JSON.parse(ok.body) as { items: unknown[] }).items).toHaveLength(4);
    const created = await fns.admin(
      httpEvent(
        'POST',
        '/api/tasks',
        { 'x-functions-key': 'fc-admin-key', 'content-type': 'application/json' },
        JSON.stringify({ type: 'echo', payload: 1, idempotencyKey: 'k1' }),
      ),
      context('admin'),
    );
    expect(created.statusCode).toBe(201);
  });

  it('runs a task type defined only in handlers/ (webhook); a type no handler declares is dead-lettered at ingest and refused by the API', async () => {
    const hook = await startHookServer();
    const producer = createMnsProvider(loadConfig({ env: { ...process.env } }).Aliyun, { credentials: KEY });
    try {
      await producer.sendBatch([
        { body: JSON.stringify({ type: 'webhook', payload: { url: hook.url, body: { from: 'fc' } } }) },
        { body: JSON.stringify({ type: 'no-such-type', payload: {} }) },
      ]);
      const pulled = await fns.puller(timerEvent('mns-puller'), context('mns-puller'));
      expect(pulled).toMatchObject({ stored: 1, rejected: 1, deadLettered: 1 });
      const refused = await tasks().findOne({ type: 'no-such-type' });
      expect(refused).toMatchObject({ status: S.Failed });
      expect(refused!.reason).toMatch(/has no handler; known types: .*webhook/);
      // The processor also runs the echo task the admin test created.
      const summary = await fns.processor(Buffer.from('{}'), context('processor'));
      expect(summary.outcomes.succeeded).toBe(2);
      expect(await tasks().findOne({ type: 'webhook' })).toMatchObject({
        status: S.Succeeded,
        result: { status: 200 },
      });
      expect(hook.calls).toEqual([{ from: 'fc' }]);
    } finally {
      await producer.close();
      await hook.close();
    }
    const unknown = await fns.admin(
      httpEvent(
        'POST',
        '/api/tasks',
        { 'x-functions-key': 'fc-admin-key', 'content-type': 'application/json' },
        JSON.stringify({ type: 'nope' }),
      ),
      context('admin'),
    );
    expect(unknown.statusCode).toBe(422);
    expect(JSON.parse(unknown.body)).toMatchObject({ knownTypes: expect.arrayContaining(['echo', 'webhook']) });
  });

  it('refuses a malformed timer event with a clear error', async () => {
    await expect(fns.reclaimer(Buffer.from('{"nope":1}'), context('reclaimer'))).rejects.toThrow(/triggerTime/);
  });
});
