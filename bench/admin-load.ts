/**
 * The admin API under load: 200 concurrent clients for 30 s against `createAdminServer` while 4 worker
 * processes (`tools/worker.ts`) process tasks. Clients mix reads (task lists, task details, stats,
 * workers, health) with task creation. Figures: requests, rate, p50/p95/p99 latency, and the 5xx count
 * (which must be 0). The issue names no earlier figure for this scenario: this run is the baseline.
 *
 * Run alone: `MONGODB_URI=... npx tsx bench/admin-load.ts [clients] [seconds]` (without MONGODB_URI it
 * starts mongo-java-server). `npm run bench -- --only=admin-load` runs it with the others' server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MongoClient } from 'mongodb';
import { createAdminServer } from '../lib/admin/node-http.js';
import { createTaskStore } from '../lib/store/create.js';
import { loadConfig } from '../lib/config/index.js';
import { JobTaskStatus } from '../lib/tasks/status.js';
import { WorkerRegistry } from '../lib/worker-registry/index.js';
import type { BenchResult } from './result.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const KEY = `bench-${randomBytes(12).toString('hex')}`;

export interface AdminLoadOptions {
  mongoUri: string;
  clients?: number;
  seconds?: number;
  workers?: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function spawnWorkers(n: number, uri: string, dbName: string): ChildProcess[] {
  return Array.from({ length: n }, () =>
    spawn(process.execPath, ['--import', 'tsx', 'tools/worker.ts'], {
      cwd: repoRoot,
      env: {
        ...process.env,
        MONGODB_URI: uri,
        MongoDB__DatabaseName: dbName,
        Worker__PollingInterval: '200',
        Worker__BatchSize: '16',
        LOG_LEVEL: 'error',
      },
      stdio: ['pipe', 'ignore', 'inherit'],
    }),
  );
}

export async function benchAdminLoad(o: AdminLoadOptions): Promise<BenchResult[]> {
  const clients = o.clients ?? 200;
  const seconds = o.seconds ?? 30;
  const dbName = `bench_admin_${randomBytes(4).toString('hex')}`;
  const client = await new MongoClient(o.mongoUri, { maxPoolSize: 100 }).connect();
  const db = client.db(dbName);
  const config = loadConfig({ env: { MONGODB_URI: o.mongoUri, MongoDB__DatabaseName: dbName } });
  const store = createTaskStore(db, config);
  await store.ensureIndexes();
  // A backlog for the workers and for the lists to page through.
  await store.ingest(
    Array.from({ length: 2_000 }, (_, i) => ({ type: 'echo', payload: { i } })),
    { by: 'bench' },
  );
  const server = await createAdminServer(
    {
      store,
      workers: new WorkerRegistry(db),
      queues: [],
      apiKey: KEY,
      ping: async () => void (await db.command({ ping: 1 })),
    },
    { port: 0 },
  );
  const workers = spawnWorkers(o.workers ?? 4, o.mongoUri, dbName);
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let errors = 0;
  const ids: string[] = [];
  const headers = { 'x-functions-key': KEY, 'content-type': 'application/json' };
  const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!;
  const byKind = new Map<string, { n: number; fivexx: number; ms: number[] }>();
  const requests: [string, () => Promise<Response>][] = [
    ['GET /tasks', () => fetch(`${server.url}/tasks?limit=50`, { headers })],
    ['GET /tasks?status', () => fetch(`${server.url}/tasks?status=Succeeded&limit=20`, { headers })],
    ['GET /tasks/{id}', () => fetch(`${server.url}/tasks/${ids.length ? pick(ids) : 'none'}`, { headers })],
    ['GET /stats', () => fetch(`${server.url}/stats`, { headers })],
    ['GET /workers', () => fetch(`${server.url}/workers`, { headers })],
    ['GET /health', () => fetch(`${server.url}/health`, { headers })],
    [
      'POST /tasks',
      () =>
        fetch(`${server.url}/tasks`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ type: 'echo', payload: { at: Date.now() } }),
        }),
    ],
  ];
  try {
    const until = Date.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (Date.now() < until) {
          const t0 = performance.now();
          try {
            const [kind, send] = pick(requests);
            const res = await send();
            const body = await res.text();
            const ms = performance.now() - t0;
            latencies.push(ms);
            const k = byKind.get(kind) ?? { n: 0, fivexx: 0, ms: [] };
            k.n++;
            k.ms.push(ms);
            if (res.status >= 500) k.fivexx++;
            byKind.set(kind, k);
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
            if (res.status === 201 && ids.length < 5_000) ids.push((JSON.parse(body) as { id: string }).id);
          } catch {
            errors++;
          }
        }
      }),
    );
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r(null) : w.once('exit', r)))));
    await server.close();
    const succeeded = await db.collection('tasks').countDocuments({ status: JobTaskStatus.Succeeded });
    process.stderr.write(
      `admin-load: ${succeeded} tasks succeeded meanwhile; statuses ${JSON.stringify(Object.fromEntries(statuses))}\n`,
    );
    for (const [kind, k] of byKind) {
      k.ms.sort((a, b) => a - b);
      const p50 = Math.round(percentile(k.ms, 50));
      const p99 = Math.round(percentile(k.ms, 99));
      process.stderr.write(`  ${kind}: ${k.n} requests, ${k.fivexx} 5xx, p50 ${p50} ms, p99 ${p99} ms\n`);
    }
    await db.dropDatabase();
    await client.close();
  }
  latencies.sort((a, b) => a - b);
  const scenario = `admin API, ${clients} concurrent clients for ${seconds} s, ${o.workers ?? 4} workers processing`;
  const fivexx = [...statuses.entries()].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);
  const r = (metric: string, value: number, unit: string): BenchResult => ({
    scenario,
    system: 'taskmesh',
    metric,
    value: Math.round(value * 10) / 10,
    unit,
  });
  return [
    r('requests', latencies.length, 'requests'),
    r('rate', latencies.length / seconds, 'requests/s'),
    r('p50', percentile(latencies, 50), 'ms'),
    r('p95', percentile(latencies, 95), 'ms'),
    r('p99', percentile(latencies, 99), 'ms'),
    r('5xx', fivexx, 'responses'),
    r('client errors (network)', errors, 'requests'),
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { startMongoServer } = await import('../tools/mongo-server.js');
  const server = process.env.MONGODB_URI ? undefined : await startMongoServer({ backend: 'memory' });
  try {
    const results = await benchAdminLoad({
      mongoUri: process.env.MONGODB_URI ?? server!.uri,
      clients: Number(process.argv[2] ?? 200),
      seconds: Number(process.argv[3] ?? 30),
    });
    for (const x of results) process.stdout.write(`${JSON.stringify(x)}\n`);
  } finally {
    await server?.stop();
  }
}
