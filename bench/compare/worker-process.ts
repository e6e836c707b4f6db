/**
 * One worker process of the multi-process, recovery and memory scenarios:
 *   node --import tsx bench/compare/worker-process.ts <system> <concurrency>
 * with the rest of its settings in BENCH_COMPARE_CHILD (JSON, see ipc.ts). It connects, says `ready`,
 * starts its worker on `go`, reports starts and completions (coalesced per event-loop turn), and on
 * `stop` closes and exits. It also exits when the parent goes away and, at the latest, after
 * maxLifetimeMs: no run leaves a process behind.
 */
import { childSpec, parentToChild, type ChildMessage } from './ipc.js';
import { serviceEndpoints } from './services.js';
import { createAdapter } from './systems.js';

const send = (m: ChildMessage) => {
  if (process.connected) process.send?.(m);
};

async function main(): Promise<void> {
  if (!process.send) throw new Error('worker-process.ts is started by the bench with an IPC channel');
  const raw = process.env.BENCH_COMPARE_CHILD;
  if (!raw) throw new Error('BENCH_COMPARE_CHILD is not set');
  const spec = childSpec.parse(JSON.parse(raw));
  const [system, concurrency] = process.argv.slice(2);
  if (system !== spec.system || Number(concurrency) !== spec.concurrency)
    throw new Error(`arguments ${system} ${concurrency} disagree with BENCH_COMPARE_CHILD`);
  serviceEndpoints({ BENCH_PG_URL: spec.config.pgUrl, BENCH_REDIS_HOST: spec.config.redis.host }); // loopback check

  const lifetime = setTimeout(() => {
    process.stderr.write(`worker-process ${system}: lifetime of ${spec.maxLifetimeMs} ms reached; exiting\n`);
    process.exit(3);
  }, spec.maxLifetimeMs);
  lifetime.unref();

  const adapter = await createAdapter(spec.system, spec.config);
  let closing = false;
  const close = async (code: number) => {
    if (closing) return;
    closing = true;
    const force = setTimeout(() => process.exit(code), 5_000);
    force.unref();
    await adapter.teardown().catch(() => undefined);
    process.exit(code);
  };
  process.on('disconnect', () => void close(1));

  let started: number[] = [];
  let done: number[] = [];
  let flushQueued = false;
  let doneCount = 0;
  const memoryAt = [...spec.memoryAt].sort((a, b) => a - b);
  const t0 = performance.now();
  const flush = () => {
    flushQueued = false;
    if (started.length) send({ t: 'started', ns: started });
    if (done.length) send({ t: 'done', ns: done });
    started = [];
    done = [];
  };
  const queueFlush = () => {
    if (!flushQueued) {
      flushQueued = true;
      setImmediate(flush);
    }
  };

  await adapter.setup();
  process.on('message', (m: unknown) => {
    const msg = parentToChild.safeParse(m);
    if (!msg.success) return;
    if (msg.data.t === 'stop') {
      flush();
      void close(0);
      return;
    }
    void adapter
      .startWorker({
        concurrency: spec.concurrency,
        mode: spec.mode,
        onStart: (n) => {
          started.push(n);
          queueFlush();
        },
        onDone: (n) => {
          done.push(n);
          doneCount++;
          queueFlush();
          while (memoryAt.length && doneCount >= memoryAt[0]!) {
            memoryAt.shift();
            // Heap after a full collection (the process runs with --expose-gc): what is still retained, not GC timing.
            (globalThis as { gc?: () => void }).gc?.();
            const mem = process.memoryUsage();
            send({
              t: 'mem',
              done: doneCount,
              maxRssBytes: process.resourceUsage().maxRSS * 1024,
              rssBytes: mem.rss,
              heapUsedBytes: mem.heapUsed,
              atMs: performance.now() - t0,
            });
          }
        },
      })
      .catch((e: unknown) => {
        send({ t: 'error', message: `startWorker: ${(e as Error).message}` });
        void close(1);
      });
  });
  send({ t: 'ready', pid: process.pid });
}

main().catch((e: unknown) => {
  send({ t: 'error', message: (e as Error).stack ?? String(e) });
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  setTimeout(() => process.exit(1), 100);
});
