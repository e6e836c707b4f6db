/**
 * The authoring API as a user meets it: README's "Writing a task handler" code, extracted, type-checked
 * and run by a worker against the real database (loaded through Handlers:Module, in a worker thread as
 * it asks); and the example webhook handler against a local HTTP server (2xx succeeds, 4xx fails for
 * good, 5xx is retried).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhook } from '../../handlers/webhook.js';
import { loadConfig } from '../../lib/config/index.js';
import { loadHandlers, type HandlerRegistry } from '../../lib/handlers/index.js';
import { taskStoreOptions } from '../../lib/store/create.js';
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import type { Task } from '../../lib/tasks/model.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { createWorker, type Worker } from '../../lib/worker/index.js';
import { WorkerRegistry } from '../../lib/worker-registry/index.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { startHookServer } from '../support/hook-server.js';
import { waitFor } from '../worker/helpers.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const dir = join(repoRoot, 'test-artifacts', 'readme-handler');

/** README's handler module, with `from 'taskmesh'` pointed at the package entry in this checkout. */
function writeReadmeModule(): string {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Writing a task handler'));
  const block = /```ts\n(\/\/ handlers\/word-count\.ts\n[\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README has no ```ts block starting with // handlers/word-count.ts');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'word-count.ts'), block[1]!.replace("from 'taskmesh'", "from '../../lib/index.js'"));
  // What README tells the user to write in handlers/index.ts.
  const index = join(dir, 'index.ts');
  writeFileSync(index, "import { wordCount } from './word-count.js';\n\nexport const handlers = [wordCount];\n");
  return index;
}

let t: TestDb;
let store: MongoTaskStore;
let handlers: HandlerRegistry;
let worker: Worker;
let moduleFile: string;
const config = loadConfig({
  env: {},
  overrides: {
    Worker: { HeartbeatInterval: 100, PollingInterval: 50, RetryBaseDelay: 1, RetryMaxDelay: 5 },
    Handlers: { BuiltIns: false, PoolSize: 1 },
  },
});

beforeAll(async () => {
  moduleFile = writeReadmeModule();
  t = await openTestDb('authoring');
  store = new MongoTaskStore(t.db, taskStoreOptions(config));
  await store.ensureIndexes();
  handlers = await loadHandlers(
    { ...config, Handlers: { ...config.Handlers, Module: moduleFile } },
    { extra: [webhook] },
  );
  worker = createWorker({ store, handlers, settings: config.Worker, registry: new WorkerRegistry(t.db) });
  worker.start();
});
afterAll(async () => {
  await worker?.stop();
  await handlers?.close();
  await t?.drop();
});

let seq = 0;
async function ingest(type: string, payload: unknown): Promise<string> {
  return (await store.ingest([{ type, payload, idempotencyKey: `a-${seq++}` }])).items[0]!.taskId;
}
const finished = (id: string): Promise<Task> =>
  waitFor(async () => {
    const task = await store.get(id);
    return task && [S.Succeeded, S.Error, S.Timeout].includes(task.status as 23) ? task : undefined;
  }, `task ${id} to finish`);

describe("README's handler", () => {
  it('type-checks as written (strict)', () => {
    const { config: raw } = ts.readConfigFile(join(repoRoot, 'tsconfig.json'), (f) => ts.sys.readFile(f));
    const { options } = ts.parseJsonConfigFileContent(raw, ts.sys, repoRoot);
    const program = ts.createProgram([moduleFile], { ...options, noEmit: true });
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(diagnostics).toEqual([]);
  });

  it('runs in a worker thread through Handlers:Module, fails for good on NonRetryableError, rejects a bad payload', async () => {
    expect(handlers.types()).toEqual(['word-count', 'webhook']);
    expect(handlers.isolationOf('word-count')).toBe('thread');
    const ok = await finished(await ingest('word-count', { text: 'The cat and the hat and the bat' }));
    expect(ok.status).toBe(S.Succeeded);
    expect(ok.result).toMatchObject({
      top: [
        ['the', 3],
        ['and', 2],
        ['bat', 1],
      ],
    });
    const empty = await finished(await ingest('word-count', { text: '  ' }));
    expect(empty).toMatchObject({ status: S.Error, attempts: 1 });
    expect(empty.errors.at(-1)).toMatchObject({ kind: 'NonRetryableError', message: 'nothing to count' });
    const bad = await finished(await ingest('word-count', { text: 5 }));
    expect(bad).toMatchObject({ status: S.Error, attempts: 1 });
    expect(bad.errors.at(-1)!.kind).toBe('InvalidPayload');
  });
});

describe('the webhook example', () => {
  it.each([
    [200, S.Succeeded, 1],
    [404, S.Error, 1],
    [503, S.Error, 6],
  ])('answered %i: ends %i after %i attempt(s)', async (status, expected, attempts) => {
    const hook = await startHookServer(status);
    try {
      const task = await finished(await ingest('webhook', { url: hook.url, body: { n: status } }));
      expect(task).toMatchObject({ status: expected, attempts });
      expect(hook.calls).toHaveLength(attempts);
      if (status === 404) expect(task.errors.at(-1)).toMatchObject({ kind: 'NonRetryableError' });
      if (status === 503) expect(task.errors.at(-1)!.message).toContain('failed: 503');
    } finally {
      await hook.close();
    }
  });

  it('gives up on a server that does not answer within the timeout, and retries', async () => {
    const { createServer } = await import('node:http');
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      const id = await ingest('webhook', { url: `http://127.0.0.1:${port}/`, timeoutMs: 50 });
      const task = await waitFor(async () => {
        const x = await store.get(id);
        return x && x.errors.length > 0 ? x : undefined;
      }, 'a failed attempt');
      expect(task.errors[0]!.message).toContain('no answer within 50 ms');
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });
});
