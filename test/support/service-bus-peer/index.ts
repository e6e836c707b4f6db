/**
 * A local Azure Service Bus stand-in for tests: an AMQP 1.0 peer on 127.0.0.1 that the real
 * `@azure/service-bus` SDK talks to with a development-emulator connection string. It implements what
 * the SDK sends (see the modules for each exchange); entities are fixed at start.
 */
import { PeerNamespace } from './namespace.js';
import type { StoreCounts } from './message-store.js';
import type { PeerEntityOptions, ServiceBusPeerOptions } from './options.js';
import { startServer, type PeerStats } from './server.js';

export type { PeerEntityOptions, PeerSubscriptionOptions, ServiceBusPeerOptions } from './options.js';
export type { StoreCounts } from './message-store.js';
export type { PeerStats } from './server.js';

export interface ServiceBusPeer {
  readonly port: number;
  /** `Endpoint=sb://127.0.0.1:PORT;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true` */
  readonly connectionString: string;
  /** Transfers seen on send links, for assertions about batching. */
  readonly stats: PeerStats;
  /** Messages by state in a queue, subscription (`topic/Subscriptions/sub`) or `.../$DeadLetterQueue`. */
  counts(path: string): StoreCounts;
  /** Adds an entity while running (tests that want fresh queues). */
  addEntity(entity: PeerEntityOptions): void;
  /** Cuts every client connection without an AMQP close (a network failure); clients may reconnect. */
  dropConnections(): void;
  /** Closes every connection and the listener, and clears all timers. */
  stop(): Promise<void>;
}

export async function startServiceBusPeer(options: ServiceBusPeerOptions): Promise<ServiceBusPeer> {
  const namespace = new PeerNamespace(options.entities);
  const sas = { name: options.sharedAccessKeyName ?? 'k', key: options.sharedAccessKey ?? 'v' };
  const server = await startServer({ namespace, sas, maxMessageSizeBytes: options.maxMessageSizeBytes ?? 256 * 1024 });
  return {
    port: server.port,
    connectionString: `Endpoint=sb://127.0.0.1:${server.port};SharedAccessKeyName=${sas.name};SharedAccessKey=${sas.key};UseDevelopmentEmulator=true`,
    stats: server.stats,
    counts: (path) => namespace.counts(path),
    addEntity: (entity) => namespace.add(entity),
    dropConnections: () => server.dropConnections(),
    stop: () => server.stop(),
  };
}
