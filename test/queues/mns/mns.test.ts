/**
 * MNS specifics, against the local peer with the real `@alicloud/mns` client: signatures and STS
 * tokens, the receive-count dead-lettering, body escaping and interoperability, batch deletes, settings.
 */
import { randomBytes } from 'node:crypto';
import MNSClient from '@alicloud/mns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../lib/config/errors.js';
import { loadConfig } from '../../../lib/config/load.js';
import { createQueueProvider } from '../../../lib/queues/factory.js';
import { fromFunctionComputeContext, resolveMnsCredentials } from '../../../lib/queues/mns/credentials.js';
import { MnsQueueProvider } from '../../../lib/queues/mns/provider.js';
import { DEAD_LETTER_REASON_PROPERTY, QueueProviderError } from '../../../lib/queues/provider.js';
import { startMnsPeer, type MnsPeerHandle } from '../../support/mns-peer/index.js';
import { drain } from '../../support/queue-providers.js';

const credentials = {
  accessKeyId: 'mns-test-id',
  accessKeySecret: `the-real-secret-${randomBytes(6).toString('hex')}`,
};
let peer: MnsPeerHandle;

beforeAll(async () => {
  peer = await startMnsPeer(credentials);
});
afterAll(async () => {
  await peer?.stop();
});

function provider(opts: Partial<ConstructorParameters<typeof MnsQueueProvider>[0]> = {}) {
  const name = `m-${randomBytes(5).toString('hex')}`;
  return new MnsQueueProvider({
    accountId: peer.accountId,
    endpoint: peer.endpoint,
    credentials,
    queueName: name,
    deadLetterQueueName: `${name}-dlq`,
    maxReceiveCount: 5,
    visibilityTimeoutMs: 1_000,
    redelivery: { baseMs: 10, capMs: 100 },
    ...opts,
  });
}

describe('MNS signature and credentials', () => {
  it("the peer refuses a bad signature with the service's 403 SignatureDoesNotMatch error XML", async () => {
    const res = await fetch(`${peer.endpoint}/queues/anything`, {
      headers: {
        date: new Date().toUTCString(),
        'x-mns-version': '2015-06-06',
        authorization: `MNS ${credentials.accessKeyId}:bm90LWEtc2lnbmF0dXJl`,
      },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toMatch(/^text\/xml/);
    const xml = await res.text();
    expect(xml).toMatch(
      /<Error xmlns="http:\/\/mns\.aliyuncs\.com\/doc\/v1\/"><Code>SignatureDoesNotMatch<\/Code><Message>[^<]+<\/Message><RequestId>[^<]+<\/RequestId><HostId>[^<]+<\/HostId><\/Error>/,
    );
  });

  it('a wrong secret is reported as a typed, non-transient QueueProviderError naming the queue and the settings, without the secret', async () => {
    const good = provider();
    await good.ensureQueues();
    const wrongSecret = `wrong-${randomBytes(6).toString('hex')}`;
    const bad = provider({
      queueName: good.queueName,
      deadLetterQueueName: good.deadLetterQueueName,
      credentials: { accessKeyId: credentials.accessKeyId, accessKeySecret: wrongSecret },
    });
    const err = await bad.send({ body: 'x' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(QueueProviderError);
    const e = err as QueueProviderError;
    expect(e.details).toEqual({
      provider: 'mns',
      queue: good.queueName,
      operation: 'sendMessage',
      code: 'SignatureDoesNotMatch',
      transient: false,
    });
    expect(e.message).toContain(good.queueName);
    expect(e.message).toContain('Aliyun:AccessKeySecret');
    expect(e.message).not.toContain(wrongSecret);
    expect(e.message).not.toContain(credentials.accessKeySecret);

    const health = await bad.health();
    expect(health.reachable).toBe(false);
    expect(health.error).toContain('SignatureDoesNotMatch');
    expect(health.error).not.toContain(wrongSecret);
    // Nothing was sent with the bad signature.
    expect(await good.receive({ maxMessages: 16, waitMs: 0 })).toEqual([]);
  });

  it('an unknown AccessKey id is InvalidAccessKeyId', async () => {
    const p = provider({ credentials: { accessKeyId: 'nobody', accessKeySecret: 'whatever' } });
    await expect(p.ensureQueues()).rejects.toMatchObject({ details: { code: 'InvalidAccessKeyId', transient: false } });
  });

  it('STS credentials (Function Compute) send the security token the service checks', async () => {
    const token = `sts-token-${randomBytes(6).toString('hex')}`;
    const sts = await startMnsPeer({ accessKeyId: 'STS.tmp-id', accessKeySecret: 'tmp-secret', securityToken: token });
    try {
      const fcContext = { accessKeyId: 'STS.tmp-id', accessKeySecret: 'tmp-secret', securityToken: token };
      const ok = new MnsQueueProvider({
        accountId: sts.accountId,
        endpoint: sts.endpoint,
        credentials: fromFunctionComputeContext(fcContext),
        queueName: 'sts-q',
        deadLetterQueueName: 'sts-q-dlq',
        maxReceiveCount: 3,
      });
      await ok.ensureQueues();
      await ok.send({ body: 'with token' });
      expect((await drain((o) => ok.receive(o), 1)).map((m) => m.body)).toEqual(['with token']);

      const noToken = new MnsQueueProvider({
        accountId: sts.accountId,
        endpoint: sts.endpoint,
        credentials: { accessKeyId: 'STS.tmp-id', accessKeySecret: 'tmp-secret' },
        queueName: 'sts-q',
        deadLetterQueueName: 'sts-q-dlq',
        maxReceiveCount: 3,
      });
      const err = await noToken.send({ body: 'x' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(QueueProviderError);
      expect((err as QueueProviderError).details.code).toBe('InvalidSecurityToken');
      expect((err as QueueProviderError).message).not.toContain(token);
    } finally {
      await sts.stop();
    }
  });

  it("credentials come from the settings, else from Function Compute's STS variables; missing ones are a ConfigError without secrets", () => {
    const settings = loadConfig({ env: {} }).Aliyun;
    expect(resolveMnsCredentials({ ...settings, AccessKeyId: 'id', AccessKeySecret: 's3cr3t' })).toEqual({
      accessKeyId: 'id',
      accessKeySecret: 's3cr3t',
    });
    expect(
      resolveMnsCredentials(settings, {
        env: {
          ALIBABA_CLOUD_ACCESS_KEY_ID: 'STS.x',
          ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'y',
          ALIBABA_CLOUD_SECURITY_TOKEN: 'z',
        },
      }),
    ).toEqual({ accessKeyId: 'STS.x', accessKeySecret: 'y', securityToken: 'z' });
    const err = (() => {
      try {
        resolveMnsCredentials({ ...settings, AccessKeyId: 'only-the-id' }, { env: {} });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => p.key)).toEqual(['Aliyun:AccessKeySecret']);
  });
});

describe('MNS receive count and dead letters', () => {
  it('a message abandoned on its last allowed delivery moves to the dead-letter queue with its reason', async () => {
    const p = provider({ maxReceiveCount: 2 });
    await p.ensureQueues();
    const sent = await p.send({ body: '{"type":"flaky"}' });
    const [first] = await drain((o) => p.receive(o), 1);
    expect(first!.deliveryCount).toBe(1);
    await p.abandon(first!, 0);
    const [second] = await drain((o) => p.receive(o), 1);
    expect(second!.deliveryCount).toBe(2);
    await p.abandon(second!, 0);

    const [dead] = await drain((o) => p.receiveDeadLetters(o), 1);
    expect(dead!.body).toBe('{"type":"flaky"}');
    expect(dead!.properties).toMatchObject({
      [DEAD_LETTER_REASON_PROPERTY]: 'MaxDeliveryCountExceeded',
      OriginalMessageId: sent.id,
      OriginalDeliveryCount: 2,
    });
    expect(await p.receive({ maxMessages: 16, waitMs: 1_500 })).toEqual([]);
  });

  it('a message received past Aliyun:MaxReceiveCount without being settled (crashes) lands in the dead-letter queue', async () => {
    const p = provider({ maxReceiveCount: 2, visibilityTimeoutMs: 1_000 });
    await p.ensureQueues();
    await p.send({ body: 'poison' });
    await p.send({ body: 'fine' });
    // Two deliveries that are never settled: each visibility timeout runs out.
    const seen: number[] = [];
    while (seen.length < 2) {
      const got = await p.receive({ maxMessages: 16, waitMs: 3_000 });
      for (const m of got) {
        if (m.body === 'poison') seen.push(m.deliveryCount);
        else await p.complete(m);
      }
    }
    expect(seen).toEqual([1, 2]);
    // The third delivery goes to the dead-letter queue instead of the caller.
    const third = await p.receive({ maxMessages: 16, waitMs: 3_000 });
    expect(third).toEqual([]);
    const [dead] = await drain((o) => p.receiveDeadLetters(o), 1);
    expect(dead).toMatchObject({
      body: 'poison',
      properties: { [DEAD_LETTER_REASON_PROPERTY]: 'MaxDeliveryCountExceeded', OriginalDeliveryCount: 3 },
    });
    expect(await p.health()).toMatchObject({ reachable: true, depth: 0, inFlight: 0, deadLetterDepth: 1 });
  });
});

describe('MNS retry later', () => {
  it('abandon without a delay hides the message for an exponential backoff in its delivery count, capped', async () => {
    const p = provider({ redelivery: { baseMs: 10_000, capMs: 60_000 } });
    await p.ensureQueues();
    await p.sendBatch([{ body: 'first' }, { body: 'third' }, { body: 'capped' }]);
    const got = await drain((o) => p.receive(o), 3);
    const hiddenFor = async (body: string, deliveryCount: number) => {
      const m = got.find((x) => x.body === body)!;
      const before = Date.now();
      // The provider reads the delivery count from the message it is given.
      await p.abandon({ ...m, deliveryCount });
      const after = Date.now();
      const stored = peer.peer.queues
        .get(p.queueName)!
        .inspect()
        .find((x) => x.id === m.id)!;
      return [stored.nextVisibleTime - after, stored.nextVisibleTime - before] as const;
    };
    const within = ([lo, hi]: readonly [number, number], expected: number) => {
      // Whole seconds on the service: the expected delay lies between what the two clock readings allow.
      expect(lo).toBeLessThanOrEqual(expected);
      expect(hi).toBeGreaterThanOrEqual(expected);
    };
    within(await hiddenFor('first', 1), 10_000);
    within(await hiddenFor('third', 3), 40_000);
    within(await hiddenFor('capped', 4), 60_000);
  });
});

describe('MNS bodies and batches', () => {
  it('the SDK does not escape XML: an unescaped "<" is refused by the service as MalformedXML, the provider escapes it', async () => {
    const p = provider();
    await p.ensureQueues();
    const raw = new MNSClient(peer.accountId, { ...credentials, endpoint: peer.endpoint });
    await expect(raw.sendMessage(p.queueName, { MessageBody: 'a < b' })).rejects.toMatchObject({
      name: 'MNSMalformedXMLError',
    });
    await p.send({ body: 'a < b' });
    expect((await drain((o) => p.receive(o), 1)).map((m) => m.body)).toEqual(['a < b']);
  });

  it('reads plain-text bodies written by another producer (plain or XML-escaped) as they are', async () => {
    const p = provider();
    await p.ensureQueues();
    const raw = new MNSClient(peer.accountId, { ...credentials, endpoint: peer.endpoint });
    await raw.sendMessage(p.queueName, { MessageBody: '{"type":"echo","payload":"from another producer"}' });
    await raw.sendMessage(p.queueName, { MessageBody: 'x &lt; y &amp; z' });
    const bodies = (await drain((o) => p.receive(o), 2)).map((m) => m.body).sort();
    expect(bodies).toEqual(['x < y & z', '{"type":"echo","payload":"from another producer"}']);
  });

  it('refuses, before sending, bodies XML cannot carry and bodies over the size limit', async () => {
    const p = provider({ maxMessageBytes: 1024 });
    await p.ensureQueues();
    await expect(p.send({ body: 'bell \u0007' })).rejects.toMatchObject({
      details: { code: 'InvalidMessageBody', transient: false },
    });
    await expect(p.send({ body: 'x'.repeat(1025) })).rejects.toMatchObject({
      details: { code: 'MessageTooLarge', transient: false },
    });
  });

  it('completes of one tick go out as one batch delete; a stale receipt handle fails alone', async () => {
    const p = provider();
    await p.ensureQueues();
    await p.sendBatch([{ body: 'a' }, { body: 'b' }, { body: 'c' }]);
    const got = await drain((o) => p.receive(o), 3);
    expect(got).toHaveLength(3);
    const stale = got.find((m) => m.body === 'a')!;
    await p.abandon(stale, 30_000); // issues a new receipt handle; the one we hold is stale now
    const results = await Promise.allSettled(got.map((m) => p.complete(m)));
    const byBody = new Map(got.map((m, i) => [m.body, results[i]!]));
    expect(byBody.get('b')!.status).toBe('fulfilled');
    expect(byBody.get('c')!.status).toBe('fulfilled');
    const failed = byBody.get('a')!;
    expect(failed.status).toBe('rejected');
    expect((failed as PromiseRejectedResult).reason).toMatchObject({
      details: { code: 'MessageNotExist', operation: 'batchDeleteMessage' },
    });
    expect(await p.health()).toMatchObject({ depth: 0, inFlight: 1 });
  });

  it("health of a queue that does not exist is unreachable with the service's code", async () => {
    const p = provider();
    expect(await p.health()).toMatchObject({ reachable: false, error: expect.stringContaining('QueueNotExist') });
  });
});

describe('MNS from the settings', () => {
  it('createQueueProvider builds it from the Aliyun keys (Ingest:Provider=mns)', async () => {
    const config = loadConfig({
      env: {},
      overrides: {
        Ingest: { Provider: 'mns', MessageTimeout: '00:00:05' },
        Aliyun: {
          AccessKeyId: credentials.accessKeyId,
          AccessKeySecret: credentials.accessKeySecret,
          AccountId: peer.accountId,
          MNSEndpoint: peer.endpoint,
          QueueName: 'from-settings',
          DeadLetterQueueName: 'from-settings-dlq',
          MaxReceiveCount: 4,
        },
      },
    });
    const p = await createQueueProvider(config);
    expect(p).toBeInstanceOf(MnsQueueProvider);
    expect([p.kind, p.queueName, p.deadLetterQueueName]).toEqual(['mns', 'from-settings', 'from-settings-dlq']);
    await p.ensureQueues();
    // The queue was created with the visibility timeout ingest needs: MessageTimeout + 30 s.
    expect(peer.peer.queues.get('from-settings')!.attributes.VisibilityTimeout).toBe(35);
    await p.close();
  });

  it('missing endpoint or credentials are one ConfigError naming the Aliyun keys', async () => {
    const config = loadConfig({ env: {}, overrides: { Ingest: { Provider: 'mns' } } });
    const err = await createQueueProvider(config).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => p.key)).toContain('Aliyun:MNSEndpoint');
  });
});
