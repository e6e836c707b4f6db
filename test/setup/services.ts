/**
 * The suite's shared servers, started on first use. This global setup starts nothing by itself: it
 * listens on a local port, and the first test file that asks for MongoDB or Azurite
 * (test/support/services.ts) has it started, once for the whole run; later files reuse it. A run of
 * files that need neither (e.g. `npx vitest run test/queues/mns`) starts neither.
 *
 * One server for the run rather than one per test process: vitest runs each test file in a fresh
 * process, and a cold JVM per file would cost seconds of start-up and run several times slower.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';
import { startAzuriteQueue } from '../../tools/azurite.js';
import { startMongoServer } from '../../tools/mongo-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the service starter below (test/support/services.ts asks it). */
    testServicesUrl: string;
  }
}

/** What a test process can ask for, and what starting it gives. */
const services = {
  mongo: async () => {
    const server = await startMongoServer({ backend: 'memory' });
    return { address: server.uri, stop: () => server.stop() };
  },
  azurite: async () => {
    const azurite = await startAzuriteQueue();
    return { address: azurite.connectionString, stop: () => azurite.stop() };
  },
} satisfies Record<string, () => Promise<Running>>;

export type TestServiceName = keyof typeof services;

interface Running {
  /** The MongoDB URI, or the Azurite Queue connection string. */
  address: string;
  stop(): Promise<void>;
}

export default async function setup(project: TestProject) {
  const started = new Map<TestServiceName, Promise<Running>>();

  const start = (name: TestServiceName, by: string): Promise<Running> => {
    let running = started.get(name);
    if (!running) {
      const t0 = Date.now();
      running = services[name]().then((r) => {
        log(`started ${name} in ${Date.now() - t0} ms (first asked for by ${by})`);
        return r;
      });
      started.set(name, running);
    }
    return running;
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const name = url.pathname.slice(1);
    if (req.method !== 'POST' || !(name in services)) {
      res.writeHead(404).end(`no such service: ${name}`);
      return;
    }
    start(name as TestServiceName, url.searchParams.get('by') ?? 'a test')
      .then((r) => res.writeHead(200, { 'content-type': 'text/plain' }).end(r.address))
      .catch((e: unknown) =>
        res.writeHead(500, { 'content-type': 'text/plain' }).end(e instanceof Error ? e.message : String(e)),
      );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  project.provide('testServicesUrl', `http://127.0.0.1:${(server.address() as AddressInfo).port}`);

  return async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const stops = [...started].map(async ([name, running]) => {
      const r = await running.catch(() => undefined);
      await r?.stop();
      log(`stopped ${name}`);
    });
    await Promise.all(stops);
    if (started.size === 0) log('started no server (no test file asked for one)');
  };
}

function log(line: string): void {
  process.stdout.write(`[test services] ${line}\n`);
}
