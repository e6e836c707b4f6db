import type { ChangeStream, Collection, Db } from 'mongodb';
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
  /** 'auto': a change stream where the deployment has them (replica set, sharded), else polling. */
  changeStreams?: 'auto' | 'off';
  /** How long a signal is kept after it is due (default 60 s). */
  keepMs?: number;
  logger?: Logger;
}

/** A counter value missing when a later one was seen: its announcer has not inserted it yet. Looked for this long. */
const GAP_WAIT_MS = 2_000;
const MAX_GAPS = 1_000;

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
 * work (an indexed read that almost always returns nothing). Where the deployment offers change
 * streams (a replica set or sharded cluster) the channel watches inserts instead, and falls back to
 * polling if the stream fails.
 */
export function databaseChannel(db: Db, o: DatabaseChannelOptions): WakeChannel {
  return new DatabaseChannel(db, o);
}

class DatabaseChannel implements WakeChannel {
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
  private mode: 'stopped' | 'poll' | 'stream' = 'stopped';
  private timer: NodeJS.Timeout | undefined;
  private stream: ChangeStream<WakeSignalDoc> | undefined;
  private warnedAt = 0;

  constructor(
    private readonly db: Db,
    private readonly o: DatabaseChannelOptions,
  ) {
    this.signals = db.collection(wakeCollections.signals);
    this.sequence = db.collection(wakeCollections.sequence);
    this.log = (o.logger ?? silentLogger).child({ component: 'wake', channel: 'database' });
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
    if (this.mode === 'stopped') void this.start();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  close(): Promise<void> {
    this.listeners.clear();
    this.stop();
    return Promise.resolve();
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
    this.mode = 'poll';
    if (this.o.changeStreams !== 'off' && (await this.hasChangeStreams())) {
      if (this.listeners.size === 0) return;
      this.openStream();
      return;
    }
    this.schedule(0);
  }

  private async hasChangeStreams(): Promise<boolean> {
    try {
      const hello = await this.db.admin().command({ hello: 1 });
      return typeof hello.setName === 'string' || hello.msg === 'isdbgrid';
    } catch {
      return false;
    }
  }

  private openStream(): void {
    try {
      const stream = this.signals.watch<WakeSignalDoc>([{ $match: { operationType: 'insert' } }]);
      this.stream = stream;
      this.mode = 'stream';
      stream.on('change', (c) => {
        if (c.operationType === 'insert') this.receive(c.fullDocument);
      });
      stream.on('error', (e) => {
        this.warn('wake-up change stream failed; polling instead', e);
        void stream.close().catch(() => undefined);
        this.stream = undefined;
        if (this.mode === 'stream') {
          this.mode = 'poll';
          this.schedule(0);
        }
      });
      this.log.debug('listening for wake-ups on a change stream');
    } catch (e) {
      this.warn('change streams unavailable; polling for wake-ups', e);
      this.mode = 'poll';
      this.schedule(0);
    }
  }

  private stop(): void {
    this.mode = 'stopped';
    clearTimeout(this.timer);
    this.timer = undefined;
    void this.stream?.close().catch(() => undefined);
    this.stream = undefined;
    this.due.clear();
  }

  private schedule(ms: number): void {
    if (this.mode !== 'poll') return;
    this.timer = setTimeout(() => void this.poll(), ms);
    this.timer.unref();
  }

  private wanted(): boolean {
    for (const opts of this.listeners.values()) if (!opts.wanted || opts.wanted()) return true;
    return false;
  }

  private async poll(): Promise<void> {
    try {
      // The starting point is taken at once, so nothing announced after the subscription is missed.
      if (this.last === undefined || this.wanted()) await this.readNew();
    } catch (e) {
      this.warn('could not read wake-ups (polling goes on)', e);
    }
    this.schedule(this.o.pollMs ?? 15);
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
    if (d.from === this.o.origin || this.mode === 'stopped') return;
    this.due.add(d.count, d.at?.getTime());
  }

  /** At most one warning a minute: a down database is reported by the store already. */
  private warn(msg: string, e: unknown): void {
    if (Date.now() - this.warnedAt < 60_000) return;
    this.warnedAt = Date.now();
    this.log.warn(msg, { error: errorMessage(e) });
  }
}
