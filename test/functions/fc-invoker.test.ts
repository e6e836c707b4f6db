import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FcInvoker, fcDispatcher, fcEndpoint } from '../../lib/app/fc-invoker.js';
import { silentLogger } from '../../lib/log/logger.js';
import { startFcPeer, type FcPeer } from '../support/fc-peer/index.js';

describe('Function Compute 3.0 async invocation (@alicloud/fc20230330)', () => {
  let peer: FcPeer;
  beforeAll(async () => {
    peer = await startFcPeer({ accessKeyId: 'AKID', accessKeySecret: 'fc-secret' });
  });
  afterAll(() => peer.stop());

  it('sends a signed POST /2023-03-30/functions/{name}/invocations with x-fc-invocation-type Async', async () => {
    const invoker = new FcInvoker({
      endpoint: peer.endpoint,
      credentials: { accessKeyId: 'AKID', accessKeySecret: 'fc-secret', securityToken: 'sts-token' },
      functionName: 'processor',
      logger: silentLogger,
    });
    const r = await invoker.invokeAsync({ kind: 'wake', stored: 3 });
    expect(r.statusCode).toBe(202);
    expect(peer.rejected).toEqual([]);
    expect(peer.invocations.at(-1)).toMatchObject({ functionName: 'processor', invocationType: 'Async' });
    expect(JSON.parse(peer.invocations.at(-1)!.body)).toEqual({ kind: 'wake', stored: 3 });
    expect(peer.invocations.at(-1)!.headers['x-acs-security-token']).toBe('sts-token');
  });

  it('is refused with a wrong secret, and the dispatcher reports it without failing ingest', async () => {
    const before = peer.invocations.length;
    const invoker = new FcInvoker({
      endpoint: peer.endpoint,
      credentials: { accessKeyId: 'AKID', accessKeySecret: 'wrong' },
      functionName: 'processor',
      logger: silentLogger,
    });
    await expect(invoker.invokeAsync({})).rejects.toThrow(/SignatureDoesNotMatch/);
    const warnings: string[] = [];
    const logger = {
      ...silentLogger,
      warn: (m: string) => {
        warnings.push(m);
      },
    };
    await fcDispatcher(invoker, 2, logger).wake(5);
    expect(peer.invocations.length).toBe(before);
    expect(warnings).toHaveLength(1);
  });

  it('fans out at most FanOut invocations per stored batch', async () => {
    const before = peer.invocations.length;
    const invoker = new FcInvoker({
      endpoint: peer.endpoint,
      credentials: { accessKeyId: 'AKID', accessKeySecret: 'fc-secret' },
      functionName: 'proc-2',
      logger: silentLogger,
    });
    await fcDispatcher(invoker, 3, silentLogger).wake(10);
    await fcDispatcher(invoker, 3, silentLogger).wake(1);
    await fcDispatcher(invoker, 3, silentLogger).wake(0);
    expect(peer.invocations.slice(before).map((i) => i.functionName)).toEqual(['proc-2', 'proc-2', 'proc-2', 'proc-2']);
  });

  it('defers a wake-up due later with x-fc-async-delay (rounded up, signed); beyond 3600 s it leaves it to the sweep', async () => {
    const before = peer.invocations.length;
    const invoker = new FcInvoker({
      endpoint: peer.endpoint,
      credentials: { accessKeyId: 'AKID', accessKeySecret: 'fc-secret' },
      functionName: 'proc-3',
      logger: silentLogger,
    });
    await fcDispatcher(invoker, 2, silentLogger).wake(1, new Date(Date.now() + 2_500));
    await fcDispatcher(invoker, 2, silentLogger).wake(1, new Date(Date.now() + 2 * 3_600_000));
    const sent = peer.invocations.slice(before);
    expect(sent).toHaveLength(1);
    expect(Number(sent[0]!.headers['x-fc-async-delay'])).toBeGreaterThanOrEqual(3);
    expect(sent[0]!.invocationType).toBe('Async');
  });

  it('derives the internal endpoint from the runtime environment', () => {
    expect(fcEndpoint(undefined, { FC_ACCOUNT_ID: '123', FC_REGION: 'cn-hangzhou' })).toBe(
      '123.cn-hangzhou-internal.fc.aliyuncs.com',
    );
    expect(fcEndpoint('http://127.0.0.1:9', { FC_ACCOUNT_ID: '123', FC_REGION: 'x' })).toBe('http://127.0.0.1:9');
    expect(fcEndpoint(undefined, {})).toBeUndefined();
  });
});
