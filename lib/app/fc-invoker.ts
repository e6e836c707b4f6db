import { Readable } from 'node:stream';
import fc20230330, { InvokeFunctionHeaders, InvokeFunctionRequest } from '@alicloud/fc20230330';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import { RuntimeOptions } from '@darabonba/typescript';
import type { Logger } from '../log/logger.js';
import type { Dispatcher, WakeUp } from './dispatch.js';

/**
 * Asynchronous invocation of the processor function through Function Compute 3.0's API.
 *
 * Why @alicloud/fc20230330 and not @alicloud/fc2: fc2 speaks only FC 2.0's 2016-08-15 API
 * (/2016-08-15/services/{service}/functions/{name}/invocations), which FC 3.0 functions (no services)
 * do not serve. FC 3.0's InvokeFunction is POST /2023-03-30/functions/{name}/invocations with
 * `x-fc-invocation-type: Async`, signed ACS3-HMAC-SHA256, which this SDK sends.
 */
export interface FcCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
}

export interface FcInvokerOptions {
  /** Host (and port), e.g. 123.cn-hangzhou-internal.fc.aliyuncs.com; may carry http:// for local tests. */
  endpoint: string;
  credentials: FcCredentials;
  functionName: string;
  logger: Logger;
}

// A CommonJS package: under Node's ESM its default import is module.exports, whose `default` is the
// client class; bundlers and vitest hand over the class itself. Accept both.
type FcClientCtor = typeof fc20230330.default;
const FcClientClass: FcClientCtor =
  typeof fc20230330 === 'function' ? (fc20230330 as unknown as FcClientCtor) : fc20230330.default;
type FcClient = InstanceType<typeof FcClientClass>;

export class FcInvoker {
  private readonly client: FcClient;
  constructor(private readonly o: FcInvokerOptions) {
    const plain = o.endpoint.startsWith('http://');
    const endpoint = o.endpoint.replace(/^https?:\/\//, '');
    this.client = new FcClientClass(
      new $OpenApiUtil.Config({
        accessKeyId: o.credentials.accessKeyId,
        accessKeySecret: o.credentials.accessKeySecret,
        ...(o.credentials.securityToken ? { securityToken: o.credentials.securityToken } : {}),
        endpoint,
        protocol: plain ? 'http' : 'https',
      }),
    );
  }

  /**
   * Queues one asynchronous invocation; resolves once Function Compute accepted it (202). `delaySeconds`
   * (1-3600) defers it with the documented `x-fc-async-delay` header.
   */
  async invokeAsync(
    payload: unknown,
    opts: { delaySeconds?: number } = {},
  ): Promise<{ requestId?: string; statusCode?: number }> {
    const body = Readable.from([Buffer.from(JSON.stringify(payload))]);
    const delay = opts.delaySeconds ? { commonHeaders: { 'x-fc-async-delay': String(opts.delaySeconds) } } : {};
    const res = await this.client.invokeFunctionWithOptions(
      this.o.functionName,
      new InvokeFunctionRequest({ body }),
      new InvokeFunctionHeaders({ xFcInvocationType: 'Async', ...delay }),
      new RuntimeOptions({ connectTimeout: 5_000, readTimeout: 10_000 }),
    );
    return { requestId: res.headers?.['x-fc-request-id'], statusCode: res.statusCode };
  }
}

/** The longest deferral of an asynchronous invocation (`x-fc-async-delay`). */
const MAX_ASYNC_DELAY_SECONDS = 3_600;

/** Function Compute's dispatcher: `fanOut` async processor invocations per stored batch. */
export function fcDispatcher(invoker: FcInvoker, fanOut: number, logger: Logger): Dispatcher {
  return {
    async wake(stored, at) {
      if (stored <= 0 || fanOut <= 0) return;
      // A later wake-up is a deferred invocation (whole seconds, rounded up: never early); beyond FC's
      // 3600 s limit it is left to the sweep.
      const delaySeconds = at ? Math.max(0, Math.ceil((at.getTime() - Date.now()) / 1000)) : 0;
      if (delaySeconds > MAX_ASYNC_DELAY_SECONDS) return;
      const n = Math.min(fanOut, stored);
      const body: WakeUp = { kind: 'wake', stored, at: (at ?? new Date()).toISOString() };
      const opts = delaySeconds > 0 ? { delaySeconds } : {};
      const results = await Promise.allSettled(Array.from({ length: n }, () => invoker.invokeAsync(body, opts)));
      const failed = results.filter((r) => r.status === 'rejected');
      if (failed.length)
        logger.warn('processor fan-out failed for some invocations; the sweep will pick the tasks up', {
          failed: failed.length,
          of: n,
          err: (failed[0] as PromiseRejectedResult).reason,
        });
    },
  };
}

/** The FC API endpoint from the setting, or from the runtime's environment (internal endpoint). */
export function fcEndpoint(setting: string | undefined, env: Record<string, string | undefined>): string | undefined {
  if (setting) return setting;
  const account = env.FC_ACCOUNT_ID ?? env.ALIBABA_CLOUD_ACCOUNT_ID;
  const region = env.FC_REGION ?? env.ALIBABA_CLOUD_REGION;
  return account && region ? `${account}.${region}-internal.fc.aliyuncs.com` : undefined;
}
