/**
 * The fault proxy as a process, for tests whose clients are other processes:
 *
 *   node --import tsx test/support/mongo-fault-proxy/main.ts --target mongodb://127.0.0.1:27018/taskmesh \
 *     [--port 0] [--host 127.0.0.1] [--control-port 0] [--seed 42] [--rules '[{"fault":{"kind":"dropReply"},...}]'] \
 *     [--exit-with-parent]
 *
 * Prints one JSON line when ready: {"event":"listening","uri":...,"controlUrl":...,"pid":...,"seed":...}; the
 * control API is described in control.ts. Prints {"event":"stopped","counters":...} when it stops (POST /stop,
 * SIGINT, SIGTERM, or its stdin closing with --exit-with-parent).
 */
import { parseArgs } from 'node:util';
import { serveControl } from './control.js';
import { FaultProxy, redactUri } from './proxy.js';
import type { FaultRule } from './rules.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      'control-host': { type: 'string', default: '127.0.0.1' },
      'control-port': { type: 'string', default: '0' },
      seed: { type: 'string' },
      rules: { type: 'string' },
      'exit-with-parent': { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.target) throw new Error('--target host:port (or a mongodb:// URI) is required');
  const rules = values.rules === undefined ? [] : (JSON.parse(values.rules) as FaultRule[]);
  if (!Array.isArray(rules)) throw new Error('--rules must be a JSON array of rules');
  const proxy = await FaultProxy.start({
    target: values.target,
    host: values.host,
    port: Number(values.port),
    seed: values.seed === undefined ? undefined : Number(values.seed),
    rules,
  });

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await proxy.stop();
    await control.close();
    process.stdout.write(`${JSON.stringify({ event: 'stopped', counters: await proxy.counters() })}\n`, () =>
      process.exit(code),
    );
  };
  const control = await serveControl(proxy, {
    host: values['control-host'],
    port: Number(values['control-port']),
    onStop: () => void stop(0),
  });
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  if (values['exit-with-parent']) {
    // The parent holds our stdin; when it dies, however it dies, the pipe closes and we go too.
    process.stdin.on('end', () => void stop(0));
    process.stdin.on('close', () => void stop(0));
    process.stdin.resume();
  }
  process.stdout.write(
    `${JSON.stringify({ event: 'listening', uri: proxy.uri, controlUrl: control.url, pid: process.pid, seed: proxy.seed, target: redactUri(values.target) })}\n`,
  );
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  process.exit(1);
});
