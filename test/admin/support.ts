import { randomUUID } from 'node:crypto';
import type { Db } from 'mongodb';
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import { createAdminRouter, type AdminRouter } from '../../lib/admin/router.js';
import { WorkerRegistry } from '../../lib/worker-registry/registry.js';
import type { AdminContext, AdminRequest, AdminResponse, AdminRouterOptions } from '../../lib/admin/types.js';
import type {
  OutgoingMessage,
  QueueCapabilities,
  QueueHealth,
  QueueMessage,
  QueueProvider,
  ReceiveOptions,
  SendResult,
} from '../../lib/queues/provider.js';

export const API_KEY = 'test-admin-key-0123456789abcdef';

/** An in-memory queue provider: a main queue and a dead-letter queue, with receive locks. */
export class FakeQueue implements QueueProvider {
  readonly kind: string;
  // A test double for the admin API's views: it holds messages, it does not deliver them.
  readonly capabilities: QueueCapabilities = {
    exactDeliveryCount: false,
    visibilityTimeout: false,
    depth: true,
    deadLetterDepth: true,
    longPolling: false,
    scheduledDelivery: false,
    sessions: false,
  };
  readonly queueName: string;
  readonly deadLetterQueueName: string;
  main: { id: string; body: string; properties?: Record<string, string | number | boolean>; enqueuedAt: Date }[] = [];
  dead: {
    id: string;
    body: string;
    properties?: Record<string, string | number | boolean>;
    enqueuedAt: Date;
    locked: boolean;
  }[] = [];
  reachable = true;
  failSends = false;
  readonly calls: string[] = [];

  constructor(kind = 'fake', queueName = 'tasks') {
    this.kind = kind;
    this.queueName = queueName;
    this.deadLetterQueueName = `${queueName}-dlq`;
  }

  addDeadLetters(n: number): void {
    for (let i = 0; i < n; i++)
      this.dead.push({
        id: `dl-${i}-${randomUUID()}`,
        body: JSON.stringify({ type: 'echo', payload: { i } }),
        properties: { origin: 'test' },
        enqueuedAt: new Date(),
        locked: false,
      });
  }

  async ensureQueues(): Promise<void> {}
  async receive(_o: ReceiveOptions): Promise<QueueMessage[]> {
    this.calls.push('receive');
    return [];
  }
  async complete(): Promise<void> {}
  async abandon(): Promise<void> {}
  async deadLetter(): Promise<void> {}
  async send(m: OutgoingMessage): Promise<SendResult> {
    this.calls.push('send');
    if (this.failSends) throw new Error('send refused (SharedAccessKey=supersecret)');
    const id = randomUUID();
    this.main.push({ id, body: m.body, ...(m.properties ? { properties: m.properties } : {}), enqueuedAt: new Date() });
    return { id };
  }
  async sendBatch(ms: OutgoingMessage[]): Promise<SendResult[]> {
    return Promise.all(ms.map((m) => this.send(m)));
  }
  async receiveDeadLetters(o: ReceiveOptions): Promise<QueueMessage[]> {
    this.calls.push('receiveDeadLetters');
    const out = this.dead.filter((d) => !d.locked).slice(0, o.maxMessages);
    for (const d of out) d.locked = true;
    return out.map((d) => ({
      id: d.id,
      body: d.body,
      deliveryCount: 1,
      enqueuedAt: d.enqueuedAt,
      ...(d.properties ? { properties: d.properties } : {}),
      handle: d.id,
    }));
  }
  async completeDeadLetter(m: QueueMessage): Promise<void> {
    this.calls.push('completeDeadLetter');
    this.dead = this.dead.filter((d) => d.id !== m.handle);
  }
  async health(): Promise<QueueHealth> {
    this.calls.push('health');
    if (!this.reachable)
      return { provider: this.kind, queue: this.queueName, reachable: false, error: 'connection refused' };
    const oldest = this.main[0]?.enqueuedAt;
    return {
      provider: this.kind,
      queue: this.queueName,
      reachable: true,
      depth: this.main.length,
      deadLetterDepth: this.dead.length,
      ...(oldest ? { oldestMessageAgeMs: Date.now() - oldest.getTime() } : {}),
    };
  }
  async close(): Promise<void> {}
  /** Restores the visibility of dead letters whose lock would have expired. */
  unlockAll(): void {
    for (const d of this.dead) d.locked = false;
  }
}

export interface Harness {
  store: MongoTaskStore;
  ctx: AdminContext;
  router: AdminRouter;
  queue: FakeQueue;
  enqueued: OutgoingMessage[];
  call(
    method: string,
    path: string,
    init?: { query?: AdminRequest['query']; headers?: AdminRequest['headers']; body?: unknown; key?: string | null },
  ): Promise<Parsed>;
}

export interface Parsed extends AdminResponse {
  json: unknown;
}

/** An admin router over a test database, a fake queue and a recording enqueue. */
export function harness(db: Db, opts: { ctx?: Partial<AdminContext>; router?: AdminRouterOptions } = {}): Harness {
  const store = new MongoTaskStore(db, { maxRetries: 2, backoff: { baseMs: 1, capMs: 1 } });
  const queue = new FakeQueue();
  const enqueued: OutgoingMessage[] = [];
  const ctx: AdminContext = {
    store,
    workers: new WorkerRegistry(db),
    queues: [queue],
    apiKey: API_KEY,
    enqueue: async (m) => {
      enqueued.push(m);
      return { messageId: `m-${enqueued.length}` };
    },
    ...opts.ctx,
  };
  const router = createAdminRouter(ctx, opts.router);
  return {
    store,
    ctx,
    router,
    queue,
    enqueued,
    async call(method, path, init = {}) {
      const headers: AdminRequest['headers'] = { ...init.headers };
      if (init.key !== null) headers['x-functions-key'] = init.key ?? API_KEY;
      const body =
        init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
      if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
        headers['content-type'] = 'application/json';
      const res = await router.handle({ method, path, query: init.query ?? {}, headers, body });
      let json: unknown;
      try {
        json = JSON.parse(res.body);
      } catch {
        json = undefined;
      }
      return { ...res, json };
    },
  };
}

/** Narrows a parsed JSON body for assertions. */
export function obj(v: unknown): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v))
    throw new Error(`expected a JSON object, got ${JSON.stringify(v)}`);
  return v as Record<string, unknown>;
}

export function items(v: unknown): Record<string, unknown>[] {
  const list = obj(v).items;
  if (!Array.isArray(list)) throw new Error('expected items');
  return list as Record<string, unknown>[];
}

export function expectProblem(res: Parsed, status: number): Record<string, unknown> {
  if (res.status !== status || res.headers['content-type'] !== 'application/problem+json') {
    throw new Error(
      `expected a ${status} problem, got ${res.status} ${res.headers['content-type']}: ${res.body.slice(0, 500)}`,
    );
  }
  const p = obj(res.json);
  if (
    p.status !== status ||
    typeof p.type !== 'string' ||
    typeof p.title !== 'string' ||
    typeof p.instance !== 'string'
  )
    throw new Error(`not a problem document: ${res.body}`);
  return p;
}

/** Runs a worker's lifecycle on a task directly through the store. */
export async function runToEnd(
  store: MongoTaskStore,
  outcome: 'succeed' | 'fail' | 'fail-final',
  workerId = 'w-test',
): Promise<string | undefined> {
  const [c] = await store.claim(workerId);
  if (!c) return undefined;
  await store.start(c.lease);
  if (outcome === 'succeed') await store.complete(c.lease, { ok: true });
  else {
    const err = new Error('handler exploded');
    await store.fail(
      c.lease,
      { message: err.message, stack: err.stack!, kind: 'HandlerError' },
      outcome === 'fail-final' ? { retryable: false } : {},
    );
  }
  return c.task._id;
}
