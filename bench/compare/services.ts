/**
 * This machine's own services for the other systems: PostgreSQL (pg-boss) and Redis (BullMQ), on
 * loopback only. Reachability checks are bounded, so a missing service is reported, not waited for.
 */
import { createRequire } from 'node:module';
import { connect } from 'node:net';

export interface PgClient {
  connect(): Promise<void>;
  query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  end(): Promise<void>;
  on(event: 'error', listener: (e: Error) => void): void;
}
type PgClientConstructor = new (config: { connectionString: string; connectionTimeoutMillis?: number }) => PgClient;

// `pg` comes with pg-boss and ships no types; only this much of it is used.
const { Client } = createRequire(import.meta.url)('pg') as { Client: PgClientConstructor };

export const PG_DATABASE = 'bench_pgboss';

/** The loopback addresses the bench may use; anything else is refused. */
function assertLoopback(host: string, what: string): void {
  if (!['127.0.0.1', 'localhost', '::1'].includes(host))
    throw new Error(`${what}: only loopback addresses are used by the bench (got ${host})`);
}

export interface ServiceEndpoints {
  /** pg-boss's database (created when missing). */
  pgUrl: string;
  redis: { host: string; port: number };
}

export function serviceEndpoints(env: NodeJS.ProcessEnv = process.env): ServiceEndpoints {
  const pgUrl = env.BENCH_PG_URL ?? `postgres://postgres@127.0.0.1:5432/${PG_DATABASE}`;
  const redisHost = env.BENCH_REDIS_HOST ?? '127.0.0.1';
  const redisPort = Number(env.BENCH_REDIS_PORT ?? 6379);
  assertLoopback(new URL(pgUrl).hostname, 'BENCH_PG_URL');
  assertLoopback(redisHost, 'BENCH_REDIS_HOST');
  return { pgUrl, redis: { host: redisHost, port: redisPort } };
}

export async function withPg<T>(url: string, fn: (c: PgClient) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Creates pg-boss's database if missing (connecting to `postgres` on the same server). Throws when PostgreSQL is unreachable. */
export async function ensurePgDatabase(pgUrl: string): Promise<void> {
  const url = new URL(pgUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!/^[a-z_][a-z0-9_]*$/.test(name))
    throw new Error(`pg database name "${name}": use lowercase letters, digits and _`);
  const admin = new URL(pgUrl);
  admin.pathname = '/postgres';
  await withPg(admin.toString(), async (c) => {
    const { rows } = await c.query('select 1 from pg_database where datname = $1', [name]);
    if (rows.length === 0)
      await c.query(`create database ${name}`).catch((e: unknown) => {
        // Two processes creating it at once: the loser's error is fine.
        if (!/already exists/.test((e as Error).message)) throw e;
      });
  });
}

/** Drops one pg-boss schema of a finished run. */
export async function dropPgSchema(pgUrl: string, schema: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`bad schema name ${schema}`);
  await withPg(pgUrl, (c) => c.query(`drop schema if exists ${schema} cascade`));
}

/** Why PostgreSQL cannot be used, or undefined when it can. */
export async function pgUnavailable(pgUrl: string): Promise<string | undefined> {
  try {
    await ensurePgDatabase(pgUrl);
    await withPg(pgUrl, (c) => c.query('select 1'));
    return undefined;
  } catch (e) {
    return `PostgreSQL not reachable at ${new URL(pgUrl).host}: ${(e as Error).message}`;
  }
}

/** Why Redis cannot be used (no PONG within 2 s), or undefined when it can. */
export function redisUnavailable(redis: { host: string; port: number }): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: redis.host, port: redis.port });
    let reply = '';
    const done = (why: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(why);
    };
    const timer = setTimeout(() => done(`Redis not reachable at ${redis.host}:${redis.port}: no reply in 2 s`), 2_000);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d: Buffer) => {
      reply += d.toString();
      if (reply.includes('\r\n'))
        done(reply.startsWith('+PONG') ? undefined : `Redis at ${redis.host}:${redis.port} answered ${reply.trim()}`);
    });
    socket.on('error', (e) => done(`Redis not reachable at ${redis.host}:${redis.port}: ${e.message}`));
  });
}
