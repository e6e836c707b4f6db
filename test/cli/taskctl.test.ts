import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminServer, type AdminServer } from '../../lib/admin/node-http.js';
import { taskTypeRule } from '../../lib/handlers/known-types.js';
import { commands, globalOptions } from '../../lib/cli/main.js';
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { API_KEY, harness, runToEnd, type Harness } from '../admin/support.js';
import { openTestDb, type TestDb } from '../support/db.js';

const BIN = resolve(import.meta.dirname, '../../bin/taskctl.mjs');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real bin as a child process, as a script would. */
function taskctl(
  args: string[],
  opts: { env?: Record<string, string | undefined>; stdin?: string } = {},
): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const env: Record<string, string | undefined> = {
      ...process.env,
      TASKCTL_KEY: undefined,
      Admin__ApiKey: undefined,
      TASKCTL_URL: undefined,
      ...opts.env,
    };
    const child = spawn(process.execPath, [BIN, ...args], {
      env: env as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.end(opts.stdin ?? '');
  });
}

describe('taskctl against a running admin API', () => {
  let tdb: TestDb;
  let h: Harness;
  let server: AdminServer;
  let direct: AdminServer;
  let dir: string;
  const withKey = () => ({ env: { TASKCTL_KEY: API_KEY, TASKCTL_URL: server.url } });
  const run = (...args: string[]) => taskctl(args, withKey());

  beforeAll(async () => {
    tdb = await openTestDb('cli');
    h = harness(tdb.db);
    await h.store.ensureIndexes();
    server = await createAdminServer(h.ctx, { port: 0 });
    // The same API on a host without a queue to send to (POST /messages answers 404).
    direct = await createAdminServer({ ...h.ctx, enqueue: undefined }, { port: 0 });
    dir = mkdtempSync(join(tmpdir(), 'taskctl-'));
  });
  afterAll(async () => {
    await server?.close();
    await direct?.close();
    await tdb.drop();
  });

  describe('usage and exit codes', () => {
    it('no command option shadows a global one (--key is the admin key everywhere)', () => {
      for (const c of commands)
        for (const name of Object.keys(c.options))
          expect(Object.keys(globalOptions), `${c.name} --${name}`).not.toContain(name);
    });

    it('--help exits 0 and documents the exit codes', async () => {
      const r = await taskctl(['--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('exit codes:');
      expect(r.stdout).toContain('3  cannot reach the API, or authentication failed');
      const sub = await taskctl(['tasks', 'list', '--help']);
      expect(sub.code).toBe(0);
      expect(sub.stdout).toContain('--status');
    });

    it.each([
      [[]],
      [['frobnicate']],
      [['tasks', 'list', '--bogus']],
      [['tasks', 'list', '--limit', 'ten']],
      [['tasks', 'show']],
      [['tasks', 'show', 'a', 'b']],
      [['enqueue']],
      [['enqueue', 'echo', '--payload', '{not json']],
      [['status', '--url', 'ftp://x']],
    ])('usage error %j exits 2', async (args) => {
      const r = await run(...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/taskctl|usage/);
    });

    it('the API refusing input as invalid exits 2', async () => {
      const r = await run('tasks', 'list', '--status', 'Sleeping');
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('unknown status');
    });

    it('an unreachable API exits 3', async () => {
      const r = await taskctl(['status', '--url', 'http://127.0.0.1:9/api', '--key', 'k', '--timeout', '2000']);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('cannot reach the admin API');
    });

    it('a missing or wrong key exits 3, and nothing is read', async () => {
      const none = await taskctl(['tasks', 'list', '--url', server.url]);
      expect(none.code).toBe(3);
      expect(none.stderr).toContain('no key given');
      const wrong = await taskctl(['tasks', 'list', '--url', server.url, '--key', 'nope']);
      expect(wrong.code).toBe(3);
      expect(wrong.stdout).toBe('');
      // The key also comes from Admin__ApiKey (the server's own setting name).
      const fromSetting = await taskctl(['tasks', 'list', '--url', server.url], { env: { Admin__ApiKey: API_KEY } });
      expect(fromSetting.code).toBe(0);
    });
  });

  describe('commands', () => {
    it('enqueue one task: through the queue when the host has one, else directly', async () => {
      const viaQueue = await run('enqueue', 'email.send', '--payload', '{"to":"a@b.c"}', '--idempotency-key', 'k-1');
      expect(viaQueue.stderr).toBe('');
      expect(viaQueue.code).toBe(0);
      expect(viaQueue.stdout).toContain('sent message m-');
      expect(JSON.parse(h.enqueued.at(-1)!.body)).toEqual({
        type: 'email.send',
        payload: { to: 'a@b.c' },
        idempotencyKey: 'k-1',
      });

      const directly = await taskctl(
        [
          'enqueue',
          'email.send',
          '--payload',
          '{"to":"a@b.c"}',
          '--idempotency-key',
          'k-1',
          '--url',
          direct.url,
          '--json',
        ],
        { env: { TASKCTL_KEY: API_KEY } },
      );
      expect(directly.stderr).toBe('');
      expect(directly.code).toBe(0);
      const out = JSON.parse(directly.stdout) as { via: string; created: boolean; id: string };
      expect(out).toMatchObject({ ok: true, via: 'tasks', created: true });
      const again = await run('enqueue', 'email.send', '--idempotency-key', 'k-1', '--via', 'tasks');
      expect(again.stdout).toContain(`exists (same idempotency key) task ${out.id}`);
      expect((await h.store.get(out.id))!.payload).toEqual({ to: 'a@b.c' });
    });

    it('enqueue refuses a type no handler declares, naming the known types (through the queue or directly)', async () => {
      const typed = await createAdminServer(
        {
          ...h.ctx,
          taskTypes: taskTypeRule(
            { types: () => ['echo', 'email.send'] },
            { AllowUnknownTypes: false, ExtraTypes: undefined },
          ),
        },
        { port: 0 },
      );
      try {
        for (const via of ['messages', 'tasks']) {
          const before = h.enqueued.length;
          const r = await taskctl(['enqueue', 'emial.send', '--via', via, '--url', typed.url], {
            env: { TASKCTL_KEY: API_KEY },
          });
          expect(r.code).toBe(2);
          expect(r.stderr).toContain('task type "emial.send" has no handler; known types: echo, email.send');
          expect(h.enqueued.length).toBe(before);
        }
      } finally {
        await typed.close();
      }
    });

    it('enqueue many from a file: progress on stderr, a summary, exit 1 when a line fails', async () => {
      const file = join(dir, 'tasks.jsonl');
      const lines = [
        ...Array.from({ length: 6 }, (_, i) =>
          JSON.stringify({ type: 'bulk', payload: { i }, idempotencyKey: `bulk-${i}` }),
        ),
        '',
        '{"type": 42}',
        'not json',
      ];
      writeFileSync(file, lines.join('\n'));
      const r = await run('enqueue', '--file', file, '--via', 'tasks', '--concurrency', '3');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/enqueue \[#+-*\] \d+\/8/);
      expect(r.stderr).toContain('line 8: type:');
      expect(r.stderr).toContain('line 9: not JSON');
      expect(r.stderr).toContain('enqueued 6 of 8 (6 created, 0 already existed); 2 failed');
      expect(await tdb.db.collection('tasks').countDocuments({ type: 'bulk' })).toBe(6);
    });

    it('enqueue refuses lines by the limits every door applies (depth, keys), without crashing', async () => {
      const file = join(dir, 'hostile.jsonl');
      const deep = `${'['.repeat(5000)}1${']'.repeat(5000)}`;
      const lines = [
        `{"type":"hostile","payload":${deep}}`,
        '{"type":"hostile","payload":{"$where":"1"}}',
        '{"type":"hostile","payload":{"a.b":1}}',
        '{"type":"hostile","payload":{"fine":"$where a.b"}}',
      ];
      writeFileSync(file, lines.join('\n'));
      const r = await run('enqueue', '--file', file, '--via', 'tasks');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('line 1: PayloadTooDeep');
      expect(r.stderr).toContain('line 2: ForbiddenKey');
      expect(r.stderr).toContain('line 3: ForbiddenKey');
      expect(await tdb.db.collection('tasks').countDocuments({ type: 'hostile' })).toBe(1);
      const one = await run('enqueue', 'hostile', '--payload', deep);
      expect(one.code).toBe(2);
      expect(one.stderr).toContain('PayloadTooDeep');
    });

    it('enqueue from stdin with --json summary; all good exits 0', async () => {
      const input = Array.from({ length: 4 }, (_, i) => JSON.stringify({ type: 'piped', payload: { i } })).join('\n');
      const r = await taskctl(['enqueue', '--file', '-', '--json', '--url', direct.url], {
        env: { TASKCTL_KEY: API_KEY },
        stdin: input,
      });
      expect(r.stderr).not.toContain('line ');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ total: 4, succeeded: 4, failed: 0, created: 4 });
      expect(await tdb.db.collection('tasks').countDocuments({ type: 'piped' })).toBe(4);
    });

    it('tasks list / show / cancel / retry', async () => {
      await h.store.ingest([
        { type: 'cli-fail', idempotencyKey: 'cli-fail', priority: 100 },
        { type: 'cli-wait', idempotencyKey: 'cli-wait', priority: 50 },
      ]);
      const failedId = (await runToEnd(h.store, 'fail-final', 'worker-cli'))!;
      const waiting = (await h.store.list({ type: 'cli-wait' })).tasks[0]!;

      const list = await run('tasks', 'list', '--type', 'cli-fail');
      expect(list.code).toBe(0);
      expect(list.stdout.split('\n')[0]).toMatch(/^ID\s+TYPE\s+STATUS\s+ATTEMPTS\s+WORKER\s+CREATED\s+LAST ERROR$/);
      expect(list.stdout).toContain(failedId);
      expect(list.stdout).toMatch(/cli-fail\s+Error\s+1\/3/);

      const json = await run('tasks', 'list', '--status', 'Error', '--json');
      expect(json.code).toBe(0);
      expect((JSON.parse(json.stdout) as { items: { id: string }[] }).items.map((t) => t.id)).toEqual([failedId]);

      const paged = await run('tasks', 'list', '--limit', '2');
      expect(paged.stderr).toMatch(/more: --cursor \S+/);
      const all = await run('tasks', 'list', '--limit', '2', '--all', '--json');
      expect((JSON.parse(all.stdout) as { items: unknown[] }).items.length).toBe(
        await tdb.db.collection('tasks').countDocuments(),
      );

      const show = await run('tasks', 'show', failedId);
      expect(show.code).toBe(0);
      expect(show.stdout).toContain('Error (24)');
      expect(show.stdout).toContain('HandlerError: handler exploded');
      expect(show.stdout).toMatch(/at .*support\.ts/); // the stack trace
      expect(show.stdout).toMatch(/Running \(22\)\s+Error \(24\)\s+worker-cli/);

      const missing = await run('tasks', 'show', 'no-such-task');
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('No task no-such-task');

      const cancel = await run('tasks', 'cancel', waiting._id, '--reason', 'from cli');
      expect(cancel.code).toBe(0);
      expect(cancel.stdout).toBe(`cancelled ${waiting._id}\n`);
      expect((await h.store.get(waiting._id))!.status).toBe(S.Cancelled);
      const again = await run('tasks', 'cancel', waiting._id);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('already finished');

      const retry = await run('tasks', 'retry', failedId);
      expect(retry.code).toBe(0);
      expect((await h.store.get(failedId))!.status).toBe(S.Retrying);
      const conflict = await run('tasks', 'retry', failedId);
      expect(conflict.code).toBe(1);
      expect(conflict.stderr).toContain('cannot retry');
    });

    it('keys, keys --blocked, keys unblock, and blocked keys in status; enqueue --ordering-key', async () => {
      const blocking = new MongoTaskStore(tdb.db, { maxRetries: 0, orderingOnFailure: 'block' });
      const enq = await taskctl(['enqueue', 'x', '--ordering-key', 'cust-7', '--payload', '{"n":1}'], {
        env: { TASKCTL_KEY: API_KEY, TASKCTL_URL: direct.url },
      });
      expect(enq.code).toBe(0);
      await blocking.ingest([{ type: 'x', orderingKey: 'cust-7', payload: { n: 2 } }]);
      const [head] = await blocking.claim('w-cli', { limit: 10, types: ['x'] });
      expect(head!.task.orderingKey).toBe('cust-7');
      await blocking.start(head!.lease);
      await blocking.fail(head!.lease, { message: 'boom' }, { retryable: false });

      const all = await run('keys');
      expect(all.code).toBe(0);
      expect(all.stdout).toMatch(new RegExp(`cust-7\\s+BLOCKED\\s+${head!.task._id}\\s+2`));
      const blocked = await run('keys', '--blocked', '--json');
      expect(JSON.parse(blocked.stdout)).toMatchObject({ items: [{ key: 'cust-7', blocked: true }] });
      expect((await run('status')).stdout).toContain(`blocked ordering keys (1): cust-7 (task ${head!.task._id})`);

      const unblock = await run('keys', 'unblock', 'cust-7');
      expect(unblock.code).toBe(0);
      expect(unblock.stdout).toMatch(/^unblocked cust-7; task \w+ runs next/);
      expect((await run('keys', '--blocked')).stdout).toContain('no blocked keys');
      const again = await run('keys', 'unblock', 'cust-7');
      expect(again.code).toBe(1);
    });

    it('status, workers, queues, dlq replay', async () => {
      await tdb.db.collection('workers').insertOne({
        _id: 'node-a-pod-1-abc' as never,
        host: { hostname: 'node-a', pid: 1, platform: 'linux', nodeVersion: 'v20', runtime: 'process' },
        state: 'busy',
        currentTaskIds: ['t1'],
        types: ['x'],
        concurrency: 2,
        startedAt: new Date(),
        lastHeartbeatAt: new Date(),
        processed: 5,
        version: 1,
      });
      h.queue.addDeadLetters(3);

      const status = await run('status');
      expect(status.code).toBe(0);
      expect(status.stdout).toContain('Status: HEALTHY');
      expect(status.stdout).toMatch(/Cancelled\s+26\s+1/);
      // Tasks of types the only live worker (types ['x']) does not handle are called out.
      await h.store.ingest([{ type: 'nobody.serves', idempotencyKey: 'unserved-1' }]);
      expect((await run('status')).stdout).toContain(
        'NO WORKER: 1 task(s) of type "nobody.serves" wait, and no live worker handles that type',
      );
      const statusJson = await run('status', '--json');
      expect((JSON.parse(statusJson.stdout) as { health: { status: string } }).health.status).toBe('healthy');

      const workers = await run('workers');
      expect(workers.code).toBe(0);
      expect(workers.stdout).toMatch(/node-a-pod-1-abc\s+busy\s+\d+s ago\s+1\/2\s+5\s+node-a process/);

      const queues = await run('queues');
      expect(queues.code).toBe(0);
      expect(queues.stdout).toMatch(/fake\s+tasks\s+\d+\s+3\s+/);

      const replay = await run('dlq', 'replay', 'tasks', '--max', '2');
      expect(replay.code).toBe(0);
      expect(replay.stdout).toContain('replayed 2 message(s)');
      expect(h.queue.dead).toHaveLength(1);
      const unknown = await run('dlq', 'replay', 'nope');
      expect(unknown.code).toBe(1);

      h.queue.reachable = false;
      try {
        const down = await run('status');
        expect(down.code).toBe(1);
        expect(down.stdout).toContain('Status: UNHEALTHY');
        expect((await run('queues')).code).toBe(1);
      } finally {
        h.queue.reachable = true;
      }
    });
  });
});
