import { z } from 'zod';
import { ApiError, CliError, ExitCode } from './errors.js';

export interface ClientOptions {
  /** Base URL of the admin API, e.g. http://127.0.0.1:7071/api. */
  url: string;
  key?: string;
  timeoutMs: number;
}

export interface ApiResponse {
  status: number;
  data: unknown;
}

const problemSchema = z
  .object({
    type: z.string().optional(),
    title: z.string().optional(),
    detail: z.string().optional(),
    'invalid-params': z.array(z.object({ name: z.string(), reason: z.string() })).optional(),
  })
  .loose();

/** The admin API over fetch. Network failures and refused keys become exit code 3; problems keep their status. */
export class AdminClient {
  private readonly base: string;

  constructor(private readonly opts: ClientOptions) {
    this.base = opts.url.replace(/\/+$/, '');
  }

  /** Sends a request; statuses in `accept` (default 2xx) return, others throw ApiError. */
  async request(
    method: 'GET' | 'POST',
    path: string,
    init: { query?: Record<string, string | undefined>; body?: unknown; accept?: readonly number[] } = {},
  ): Promise<ApiResponse> {
    const url = new URL(this.base + path);
    for (const [k, v] of Object.entries(init.query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, v);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.opts.key) headers['x-functions-key'] = this.opts.key;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
    } catch (e) {
      const cause = e instanceof Error ? ((e.cause as Error | undefined)?.message ?? e.message) : String(e);
      throw new CliError(`cannot reach the admin API at ${this.base}: ${cause}`, ExitCode.unreachable);
    }
    const text = await res.text();
    let data: unknown = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = text;
      }
    }
    const ok = init.accept ? init.accept.includes(res.status) : res.status >= 200 && res.status < 300;
    if (ok) return { status: res.status, data };
    const parsed = problemSchema.safeParse(data);
    const problem = parsed.success ? parsed.data : undefined;
    if (res.status === 401 || res.status === 403) {
      throw new ApiError(
        `authentication failed (${res.status}): ${this.opts.key ? 'the key was refused' : 'no key given (use --key, or set TASKCTL_KEY or Admin__ApiKey)'}`,
        res.status,
        problem,
      );
    }
    const params = problem?.['invalid-params']?.map((p) => `${p.name}: ${p.reason}`).join('; ');
    const detail =
      problem?.detail ?? problem?.title ?? (typeof data === 'string' ? data.slice(0, 200) : `HTTP ${res.status}`);
    throw new ApiError(`${detail}${params ? ` (${params})` : ''}`, res.status, problem);
  }
}
