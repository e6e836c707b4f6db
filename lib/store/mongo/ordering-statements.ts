import type { Collection, Db, Filter, UpdateFilter } from 'mongodb';
import type { IndexDeclaration } from './indexes.js';
import { queryDeclarer } from './query-declaration.js';

/** One ordering key's document (collection `ordering_keys`): the key's sequence and whose turn it is. */
export interface OrderingKeyDoc {
  _id: string;
  /** The last sequence number given to a task of the key (atomic $inc at ingest). */
  seq: number;
  /** The task whose turn it is: at most one task of the key is claimable, Assigned or Running. */
  active: string | null;
  /**
   * Bumped by every write. Handing the turn over is a compare-and-set on it, and ingest bumps it after
   * inserting, so a finisher that scanned before a racing insert loses its write and scans again.
   */
  version: number;
  /** The active task failed for good under Ordering:OnFailure=block. */
  blocked: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export const ORDERING_KEYS_COLLECTION = 'ordering_keys';

export function orderingKeysCollection(db: Db): Collection<OrderingKeyDoc> {
  return db.collection<OrderingKeyDoc>(ORDERING_KEYS_COLLECTION);
}

/** Indexes of `ordering_keys` (point lookups use _id). */
export const orderingKeyIndexes: readonly IndexDeclaration[] = [
  { name: 'blocked_key', key: { blocked: 1, _id: 1 }, why: 'admin: blocked keys, by key' },
  {
    name: 'stale_head',
    key: { blocked: 1, updatedAt: 1, active: 1 },
    why: 'reclaimer: keys whose head has not changed for a while (its finisher may have died before handing over)',
  },
];

const declare = queryDeclarer<OrderingKeyDoc>();

export const orderingKeyQueries = {
  byKey: declare({ name: 'byKey', index: '_id', filter: (key: string) => ({ _id: key }), sample: ['k'] }),
  listKeys: declare({
    name: 'listKeys',
    index: '_id',
    filter: (after?: string) => (after ? { _id: { $gt: after } } : {}),
    sort: { _id: 1 },
    sample: ['k'],
  }),
  /** Keys with a head that has not changed since `cutoff` (the reclaimer checks the head still runs). */
  staleHeads: declare({
    name: 'staleHeads',
    index: 'stale_head',
    filter: (cutoff: Date) => ({ blocked: false, updatedAt: { $lt: cutoff }, active: { $ne: null } }),
    sample: [new Date(0)],
  }),
  blockedKeys: declare({
    name: 'blockedKeys',
    index: 'blocked_key',
    filter: () => ({ blocked: true }),
    sort: { _id: 1 },
    sample: [],
  }),
};

interface KeyWrite<A extends unknown[], U extends unknown[]> {
  name: string;
  index: string;
  filter: (...args: A) => Filter<OrderingKeyDoc>;
  update: (...args: U) => UpdateFilter<OrderingKeyDoc>;
  sample: A;
}
const keyWrite = <A extends unknown[], U extends unknown[]>(w: KeyWrite<A, U>) => w;

/**
 * Every write to `ordering_keys`, declared once (only ./ordering.ts sends them). Each that hands the turn
 * over is conditional on the version its caller read, so of two racing writers one loses and reads again.
 */
export const orderingKeyWrites = {
  /** Ingest: `count` sequence numbers for a key (the document is created on first use). */
  reserve: keyWrite({
    name: 'reserve',
    index: '_id',
    filter: (key: string) => ({ _id: key }),
    update: (count: number, now: Date) => ({
      $inc: { seq: count },
      $set: { updatedAt: now },
      $setOnInsert: { active: null, version: 0, blocked: false, createdAt: now },
    }),
    sample: ['k'],
  }),
  /** Ingest, after the insert: a finisher that scanned before it loses its compare-and-set and scans again. */
  bump: keyWrite({
    name: 'bump',
    index: '_id',
    filter: (key: string) => ({ _id: key }),
    update: (now: Date) => ({ $inc: { version: 1 }, $set: { updatedAt: now } }),
    sample: ['k'],
  }),
  /** The turn passes from `active` (null: idle) to `next` (null: the key goes idle); unblocks. */
  handOver: keyWrite({
    name: 'handOver',
    index: '_id',
    filter: (key: string, version: number, active: string | null) => ({ _id: key, version, active }),
    update: (next: string | null, now: Date) => ({
      $set: { active: next, blocked: false, updatedAt: now },
      $inc: { version: 1 },
    }),
    sample: ['k', 1, 'a'],
  }),
  /** The active task failed for good under Ordering:OnFailure=block: it keeps the turn. */
  block: keyWrite({
    name: 'block',
    index: '_id',
    filter: (key: string, version: number, active: string) => ({ _id: key, version, active }),
    update: (now: Date) => ({ $set: { blocked: true, updatedAt: now }, $inc: { version: 1 } }),
    sample: ['k', 1, 'a'],
  }),
  /** An operator retried the blocking task: it runs again with the turn. */
  resume: keyWrite({
    name: 'resume',
    index: '_id',
    filter: (key: string, active: string) => ({ _id: key, active, blocked: true }),
    update: (now: Date) => ({ $set: { blocked: false, updatedAt: now }, $inc: { version: 1 } }),
    sample: ['k', 'a'],
  }),
};
