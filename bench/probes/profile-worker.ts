import { readFileSync } from 'node:fs';
import { MongoClient, type Db } from 'mongodb';
import { z } from 'zod';
import { startMongoServer } from '../../tools/mongo-server.js';
import { loadConfig } from '../../lib/config/index.js';
import { createTaskStore } from '../../lib/store/create.js';
import { defineHandler, HandlerRegistry } from '../../lib/handlers/index.js';
import { createWorker } from '../../lib/worker/index.js';
import { WorkerRegistry } from '../../lib/worker-registry/index.js';

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
const cpuSeconds = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
/** A command by what it does: the name, the filter's top-level keys, and whether it is multi or sorted. */
const commandShape = (name: string, cmd: Record<string, unknown>): string => {
  const keys = (f: unknown) => (f && typeof f === 'object' ? Object.keys(f).join(',') : '');
  if (name === 'find') return `find{${keys(cmd.filter)}}${cmd.sort ? ' sorted' : ''}`;
  if (name === 'findAndModify') return `findAndModify{${keys(cmd.query)}}${cmd.sort ? ' sorted' : ''}`;
  if (name === 'update') {
    const u = (cmd.updates as { q?: unknown; multi?: boolean }[] | undefined) ?? [];
    return `update x${u.length}{${keys(u[0]?.q)}}${u[0]?.multi ? ' multi' : ''}`;
  }
  return name;
};
const tasks = Number(process.argv[2] ?? 500),
  c = Number(process.argv[3] ?? 16),
  batch = Number(process.argv[4] ?? c);

const server = await startMongoServer({ backend: 'memory' });
try {
  const client = await new MongoClient(server.uri, { maxPoolSize: 100, monitorCommands: true }).connect();
  const counts = new Map<string, { n: number; ms: number }>();
  const started = new Map<number, [string, number]>();
  let on = false;
  // Time with at least one command outstanding: how much of the run the server had something to do.
  let busyMs = 0;
  let busySince = 0;
  client.on('commandStarted', (e) => {
    if (!on) return;
    if (started.size === 0) busySince = performance.now();
    started.set(e.requestId, [commandShape(e.commandName, e.command), performance.now()]);
  });
  client.on('commandFailed', (e) => {
    if (started.delete(e.requestId) && started.size === 0) busyMs += performance.now() - busySince;
  });
  client.on('commandSucceeded', (e) => {
    const s = started.get(e.requestId);
    if (!s) return;
    started.delete(e.requestId);
    if (started.size === 0) busyMs += performance.now() - busySince;
    const x = counts.get(s[0]) ?? { n: 0, ms: 0 };
    x.n++;
    x.ms += performance.now() - s[1];
    counts.set(s[0], x);
  });
  const config = loadConfig({
    env: {},
    overrides: { Worker: { BatchSize: batch, Concurrency: c, PollingInterval: 100, HeartbeatInterval: 2000 } },
  });

  /** One worker runs `tasks` no-op tasks to the end in `db`; returns what it measured. */
  async function run(db: Db) {
    const store = createTaskStore(db, config);
    const registry = new WorkerRegistry(db);
    await store.ensureIndexes();
    await registry.ensureIndexes();
    await store.ingest(Array.from({ length: tasks }, (_, n) => ({ type: 'noop', payload: { n } })));
    let done = 0;
    let finish!: () => void;
    const all = new Promise<void>((r) => (finish = r));
    const claims: number[] = [];
    const origClaim = store.claim.bind(store);
    let inClaimMs = 0;
    store.claim = async (w, o) => {
      const c0 = performance.now();
      const r = await origClaim(w, o);
      inClaimMs += performance.now() - c0;
      claims.push(o?.limit ?? 1);
      return r;
    };
    const worker = createWorker({
      store,
      registry,
      settings: config.Worker,
      handlers: new HandlerRegistry([defineHandler({ type: 'noop', schema: z.unknown(), run: () => undefined })]),
      hooks: {
        onTaskFinished: () => {
          if (++done === tasks) finish();
        },
      },
    });
    const cpu0 = process.cpuUsage();
    const server0 = cpuSeconds(server.pid);
    const t0 = performance.now();
    worker.start();
    await all;
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const serverCpu = cpuSeconds(server.pid) - server0;
    await worker.stop();
    return { ms, cpu, serverCpu, inClaimMs, claims };
  }

  // A first pass warms the server's JIT; only the second is reported.
  await run(client.db('prof_warm'));
  on = true;
  const { ms, cpu, serverCpu, inClaimMs, claims } = await run(client.db('prof'));
  on = false;
  console.log(
    `tasks ${tasks} c ${c} batch ${batch}: ${((tasks / ms) * 1000).toFixed(1)} tasks/s in ${ms.toFixed(0)} ms; node CPU ${(((cpu.user + cpu.system) / 1000 / ms) * 100).toFixed(0)}% of one core, ${((cpu.user + cpu.system) / 1000 / tasks).toFixed(2)} ms CPU per task; server CPU ${(((serverCpu * 1000) / ms) * 100).toFixed(0)}%, ${((serverCpu * 1000) / tasks).toFixed(2)} ms per task`,
  );
  console.log(`a command outstanding ${((busyMs / ms) * 100).toFixed(0)}% of the run`);
  console.log(
    `run loop inside claim(): ${inClaimMs.toFixed(0)} ms of ${ms.toFixed(0)} ms (${((inClaimMs / ms) * 100).toFixed(0)}%), ${claims.length} claims, ${(tasks / claims.length).toFixed(1)} tasks per claim`,
  );
  const hist = new Map<number, number>();
  for (const l of claims) hist.set(l, (hist.get(l) ?? 0) + 1);
  console.log(
    'claim calls by limit',
    [...hist].sort((a, b) => a[0] - b[0]),
  );
  for (const [k, v] of [...counts].sort())
    console.log(k.padEnd(56), v.n, 'per task', (v.n / tasks).toFixed(2), 'avg ms', (v.ms / v.n).toFixed(2));
  await client.close();
} finally {
  await server.stop();
}
