/**
 * Example handler: POSTs a JSON body to a URL with a timeout. A 4xx answer is the request's fault, so the
 * task fails for good (NonRetryableError); a 5xx, a timeout or a network error is retried with backoff.
 */
import { z } from 'zod';
import { defineHandler, NonRetryableError } from '../lib/handlers/index.js';

export const webhook = defineHandler({
  type: 'webhook',
  payload: z.object({
    url: z.url({ protocol: /^https?$/ }),
    body: z.json().optional(),
    headers: z.record(z.string(), z.string()).optional(),
    /** Per-request timeout in ms (the task's own timeout still applies). */
    timeoutMs: z.number().int().min(1).max(120_000).default(10_000),
  }),
  maxRetries: 5,
  timeout: 60_000,
  async run({ url, body, headers, timeoutMs }, ctx) {
    ctx.log.info('calling webhook', { url: new URL(url).origin });
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body ?? null),
        // Ends on the task's abort (cancel, timeout, shutdown) or on this request's own timeout.
        signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]),
      });
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      throw new Error(
        `webhook ${url}: ${e instanceof Error && e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : String(e)}`,
      );
    }
    const text = await res.text();
    if (res.status >= 400 && res.status < 500)
      throw new NonRetryableError(`webhook ${url} refused the call: ${res.status} ${text.slice(0, 200)}`);
    if (!res.ok) throw new Error(`webhook ${url} failed: ${res.status} ${text.slice(0, 200)}`);
    return { status: res.status, body: text.slice(0, 4_096) };
  },
});
