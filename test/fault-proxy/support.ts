/** Shared by the fault-proxy tests: a proxied client next to a direct one, and what the server is. */
import { MongoClient, type MongoClientOptions } from 'mongodb';
import { expect } from 'vitest';
import { openTestDb, type TestDb } from '../support/db.js';
import { startFaultProxy, type FaultProxy } from '../support/mongo-fault-proxy/index.js';

export interface ProxiedDb {
  /** Direct to the server: to check what a write really did. */
  direct: TestDb;
  proxy: FaultProxy;
  /** Clients through the proxy, closed by close(). */
  client(options?: MongoClientOptions): Promise<MongoClient>;
  server: ServerFacts;
  close(): Promise<void>;
}

export interface ServerFacts {
  maxWireVersion: number;
  /** The driver retries writes only on a replica set or mongos that supports sessions (not mongo-java-server). */
  retryableWrites: boolean;
}

export async function openProxiedDb(prefix: string): Promise<ProxiedDb> {
  const direct = await openTestDb(prefix);
  const proxy = await startFaultProxy({ target: direct.uri, seed: 20_240_601 });
  const hello = await direct.db.admin().command({ isMaster: 1 });
  const server: ServerFacts = {
    maxWireVersion: Number(hello.maxWireVersion),
    retryableWrites:
      hello.logicalSessionTimeoutMinutes != null && (hello.setName !== undefined || hello.msg === 'isdbgrid'),
  };
  const clients: MongoClient[] = [];
  return {
    direct,
    proxy,
    server,
    client: async (options) => {
      const c = new MongoClient(proxy.uri, options);
      clients.push(c);
      await c.connect();
      return c;
    },
    close: async () => {
      await proxy.heal();
      await Promise.all(clients.map((c) => c.close(true).catch(() => undefined)));
      await proxy.stop();
      await direct.drop();
    },
  };
}

/** The rejection of `p`, checked to be an instance of `type`. */
export async function rejection<T extends Error>(
  p: Promise<unknown>,
  type: abstract new (...args: never[]) => T,
): Promise<T> {
  const outcome = await p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok)
    throw new Error(`expected a ${type.name}, the operation succeeded with ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(type);
  return outcome.error as T;
}
