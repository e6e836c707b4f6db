import type { ChangeStream, ChangeStreamDocument, Collection, Db } from 'mongodb';
import { errorMessage } from '../errors/message.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { DueTimers } from './due-timers.js';
import type { SubscribeOptions, WakeChannel, WakeListener, WakeUp } from './wake-up.js';

/** One announcement. `_id` comes from a shared counter, so pollers read `{ _id: { $gt: lastSeen } }`. */
export interface WakeSignalDoc {
  _id: number;
  count: number;
  at?: Date;
  /** The announcing process: it does not hear its own announcements back (it has them in process). */
  from: string;
  /** TTL: removed a while after it is due. */
  expiresAt: Date;
}

export const wakeCollections = { signals: 'wake_signals', sequence: 'wake_sequence' } as const;

export interface DatabaseChannelOptions {
  /** This process's id (announcements it made are not delivered back to it). */
  origin: string;
  /** Pause between polls while a listener wants wake-ups (default 15 ms). */
  pollMs?: number;
  /**
   * 'auto': a change stream where the deployment serves one (tried when listening starts: a replica set,
   * a sharded cluster, mongo-java-server with its oplog), else polling. 'off': always polling.
   */
  changeStreams?: 'auto' | 'off';
  /** How long one read of the change stream waits on the server for a new signal (default 1 s). */
  maxAwaitMs?: number;
  /** How long a signal is kept after it is due (default 60 s). */
  keepMs?: number;
  logger?: Logger;
}

/** A counter value missing when a later one was seen: its announcer has not inserted it yet. Looked for this long. */
const GAP_WAIT_MS = 2_000;
const MAX_GAPS = 1_000;
/** Opening the change stream (its first read) longer than this plus maxAwaitMs: the deployment is taken to have none. */
const OPEN_TIMEOUT_MS = 10_000;
/**
 * Inserts are the signals; a drop or rename of the collection (or its database) ends the stream, as
 * `invalidate` does. mongo-java-server reports a drop of any collection of the database, without `ns`.
 */
const STREAM_PIPELINE = [
  { $match: { operationType: { $in: ['insert', 'drop', 'rename', 'dropDatabase', 'invalidate'] } } },
];

/** Where the channel listens: nowhere, not yet decided (opening a change stream), polling, or a change stream. */
export type DatabaseChannelMode = 'stopped' | 'starting' | 'poll' | 'stream';

/** The database channel, with how it listens right now (for tests and diagnostics). */
export interface DatabaseWakeChannel extends WakeChannel {
  readonly mode: DatabaseChannelMode;
}

/** The TTL index that keeps wake_signals small. Idempotent. */
export async function ensureWakeIndexes(db: Db): Promise<void> {
  await db
    .collection<WakeSignalDoc>(wakeCollections.signals)
    .createIndex({ expiresAt: 1 }, { name: 'expiresAt_ttl', expireAfterSeconds: 0 });
}

/**
 * Wake-ups across processes through the database, which every deployment has (real MongoDB and the
 * local server alike): an announcement is one document in `wake_signals` keyed by a shared counter;
 * each listening process reads `{ _id: { $gt: lastSeen } }` every few milliseconds while it wants
 * work (an indexed read that almost always returns nothing).
 *
 * With `changeStreams: 'auto'` it first tries a change stream on the inserts instead: the deployment
 * is not asked what it is, the stream is opened, and any error (40573 on a standalone mongod, an option
 * Cosmos DB or ApsaraDB refuse, a closed cursor, no answer within OPEN_TIMEOUT_MS) means polling. A
 * stream that fails later, or ends (the collection dropped), falls back to polling from the last
 * signal it delivered, until listening stops. The stream is read whether a listener wants work or
 * not: on a real server each read waits (maxAwaitMs) for a change, so an idle stream costs nothing.
 * Tested against mongo-java-server with its oplog on (test/wake/change-streams.test.ts: stream mode,
 * delays, own announcements, the fallbacks); the default test server has no oplog, so everywhere else
 * the channel polls. No real replica set runs here: its awaitData waits and invalidate events are
 * untested.
 */
export function databaseChannel(db: Db, o: DatabaseChannelOptions): DatabaseWakeChannel {
  return new DatabaseChannel(db, o);
}

class StreamEnded extends Error {
  constructor(operationType: string) {
    super(`the wake-up change stream ended (${operationType})`);
    this.name = 'StreamEnded';
  }
}

class DatabaseChannel implements DatabaseWakeChannel {
  readonly name = 'database';
  private readonly signals: Collection<WakeSignalDoc>;
  private readonly sequence: Collection<{ _id: string; n: number }>;
  private readonly log: Logger;
  private readonly listeners = new Map<WakeListener, SubscribeOptions>();
  private readonly due = new DueTimers((w) => {
    for (const l of [...this.listeners.keys()]) l(w);
  });
  private last: number | undefined;
  private readonly gaps = new Map<number, number>();
  private state: DatabaseChannelMode = 'stopped';
  /** Bumped by every start and stop: an asynchronous step that finds it changed belongs to an old run and quits. */
  private run = 0;
  private timer: NodeJS.Timeout | undefined;
  private stream: ChangeStream<WakeSignalDoc> | undefined;
  private warnedAt = 0;

  constructor(
    db: Db,
    private readonly o: DatabaseChannelOptions,
  ) {
    this.signals = db.collection(wakeCollections.signals);
    this.sequence = db.collection(wakeCollections.sequence);
    this.log = (o.logger ?? silentLogger).child({ component: 'wake', channel: 'database' });
  }

  get mode(): DatabaseChannelMode {
    return this.state;
  }

  async announce(w: WakeUp): Promise<void> {
    if (w.count <= 0) return;
    try {
      const n = await this.nextSeq();
      const dueAt = w.at?.getTime() ?? Date.now();
      await this.signals.insertOne({
        _id: n,
        count: w.count,
        ...(w.at ? { at: w.at } : {}),
        from: this.o.origin,
        expiresAt: new Date(Math.max(dueAt, Date.now()) + (this.o.keepMs ?? 60_000)),
      });
    } catch (e) {
      this.warn('could not announce a wake-up (polling picks the tasks up)', e);
    }
  }

  subscribe(listener: WakeListener, opts: SubscribeOptions = {}): () => void {
    this.listeners.set(listener, opts);
    if (this.state === 'stopped') void this.start();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  async close(): Promise<void> {
    this.listeners.clear();
    const stream = this.stream;
    this.stop();
    await stream?.close().catch(() => undefined);
  }

  private async nextSeq(): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      try {
        const doc = await this.sequence.findOneAndUpdate(
          { _id: 'wake' },
          { $inc: { n: 1 } },
          { upsert: true, returnDocument: 'after' },
        );
        if (!doc) throw new Error('the wake sequence returned no document');
        return doc.n;
      } catch (e) {
        // Two first announcements may race to create the counter: one gets a duplicate key, and tries again.
        if (attempt === 0 && (e as { code?: unknown }).code === 11000) continue;
        throw e;
      }
    }
  }

  private async start(): Promise<void> {
    const run = ++this.run;
    this.state = 'starting';
    if (this.o.changeStreams !== 'off' && (await this.openStream(run))) return;
    if (run !== this.run) return;
    this.state = 'poll';
    this.schedule(0);
  }

  /** Opens the change stream by reading it once; false (and closed) if the deployment does not serve one. */
  private async openStream(run: number): Promise<boolean> {
    let stream: ChangeStream<WakeSignalDoc> | undefined;
    let first: ChangeStreamDocument<WakeSignalDoc> | null;
    try {
      stream = this.signals.watch<WakeSignalDoc>(STREAM_PIPELINE, { maxAwaitTimeMS: this.o.maxAwaitMs ?? 1_000 });
      this.stream = stream;
      first = await withTimeout(stream.tryNext(), OPEN_TIMEOUT_MS + (this.o.maxAwaitMs ?? 1_000));
      // A server that answers with a cursor already closed (mongo-java-server without its oplog) streams nothing.
      if (stream.closed) throw new Error('the change stream closed at once');
    } catch (e) {
      this.log.debug('no change stream; polling for wake-ups', { error: errorMessage(e) });
      // Not awaited: a server that did not answer may not answer this either.
      void stream?.close().catch(() => undefined);
      if (this.stream === stream) this.stream = undefined;
      return false;
    }
    if (run !== this.run) {
      await stream.close().catch(() => undefined);
      return true;
    }
    this.state = 'stream';
    this.log.debug('listening for wake-ups on a change stream');
    void this.readStream(stream, run, first);
    return true;
  }

  private async readStream(
    stream: ChangeStream<WakeSignalDoc>,
    run: number,
    first: ChangeStreamDocument<WakeSignalDoc> | null,
  ): Promise<void> {
    try {
      if (first) this.onChange(first);
      while (run === this.run) {
        const began = Date.now();
        const c = await stream.tryNext();
        if (run !== this.run) return;
        if (c) {
          this.onChange(c);
          continue;
        }
        // A real server waits up to maxAwaitMs for a change; one that answers at once (mongo-java-server)
        // would make this a busy loop, so an empty read is paced like a poll.
        const rest = (this.o.pollMs ?? 15) - (Date.now() - began);
        if (rest > 0) await pause(rest);
      }
    } catch (e) {
      if (run !== this.run) return;
      this.warn('wake-up change stream failed; polling instead', e);
      void stream.close().catch(() => undefined);
      this.stream = undefined;
      this.state = 'poll';
      this.schedule(0);
    }
  }

  private onChange(c: ChangeStreamDocument<WakeSignalDoc>): void {
    if (c.operationType === 'insert') {
      const d = c.fullDocument;
      // Polling, if the stream fails, goes on from here.
      if (this.last === undefined || d._id > this.last) this.last = d._id;
      this.receive(d);
      return;
    }
    const coll = (c as { ns?: { coll?: unknown } }).ns?.coll;
    if (c.operationType === 'drop' && coll !== undefined && coll !== wakeCollections.signals) return;
    throw new StreamEnded(c.operationType);
  }

  private stop(): void {
    this.run++;
    this.state = 'stopped';
    clearTimeout(this.timer);
    this.timer = undefined;
    void this.stream?.close().catch(() => undefined);
    this.stream = undefined;
    this.due.clear();
  }

  private schedule(ms: number): void {
    if (this.state !== 'poll') return;
    const run = this.run;
    this.timer = setTimeout(() => void this.poll(run), ms);
    this.timer.unref();
  }
  private wanted(): boolean {
    for (const opts of this.listeners.values()) if (!opts.wanted || opts.wanted()) return true;
    return false;
  }

  private async poll(run: number): Promise<void> {
    try {
      // The starting point is taken at once, so nothing announced after the subscription is missed.
      if (this.last === undefined || this.wanted()) await this.readNew();
    } catch (e) {
      if (run === this.run) this.warn('could not read wake-ups (polling goes on)', e);
    }
    // A poll that outlived its run (stopped, maybe started again) must not start a second loop.
    if (run === this.run) this.schedule(this.o.pollMs ?? 15);
  }

  private async readNew(): Promise<void> {
    if (this.last === undefined) {
      // Start from now: earlier announcements are old news (the first claim finds their tasks anyway).
      this.last = (await this.sequence.findOne({ _id: 'wake' }))?.n ?? 0;
      return;
    }
    const last = this.last;
    const newer = { _id: { $gt: last } };
    const filter = this.gaps.size > 0 ? { $or: [newer, { _id: { $in: [...this.gaps.keys()] } }] } : newer;
    const docs = await this.signals.find(filter).limit(MAX_GAPS).toArray();
    const now = Date.now();
    let max = last;
    const seen = new Set<number>();
    for (const d of docs) {
      seen.add(d._id);
      this.gaps.delete(d._id);
      if (d._id > max) max = d._id;
      this.receive(d);
    }
    // Counter values taken but not inserted yet (another announcer between its two writes): look again for a while.
    for (let n = last + 1; n < max && this.gaps.size < MAX_GAPS; n++) if (!seen.has(n)) this.gaps.set(n, now);
    for (const [n, since] of this.gaps) if (now - since > GAP_WAIT_MS) this.gaps.delete(n);
    this.last = max;
  }

  private receive(d: WakeSignalDoc): void {
    if (d.from === this.o.origin || this.state === 'stopped') return;
    this.due.add(d.count, d.at?.getTime());
  }

  /** At most one warning a minute: a down database is reported by the store already. */
  private warn(msg: string, e: unknown): void {
    if (Date.now() - this.warnedAt < 60_000) return;
    this.warnedAt = Date.now();
    this.log.warn(msg, { error: errorMessage(e) });
  }
}

/** Rejects if `p` has not settled within `ms` (the timer does not keep the process alive). */
async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
