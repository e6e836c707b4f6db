import { BSON } from 'mongodb';
import type { Task } from '../../tasks/model.js';

/**
 * Candidates a batch claim read beyond its own batch, kept for the next claims of the same types: while a
 * worker keeps finding full batches, one sorted read serves several claims (on a server without a usable
 * index for the sort, the read costs about as much as a write). Safe because a claim is pinned to each
 * candidate's version (writes.claimBatch): a candidate changed since it was read is simply not taken, as
 * when another worker races a fresh read.
 *
 * What bounds the staleness of the claim order:
 *   - candidates are used for at most `maxAgeMs` after their read;
 *   - a claim that did not win all it tried (another worker took some) drops them, and reads ahead less;
 *   - a task this store ingests that sorts before the last kept candidate (higher priority) drops them;
 *   - only whole batches are handed out: a claim never gets fewer than it asked for from here.
 *
 * How far to read ahead adapts, as a window does: it starts at one batch (no read-ahead), doubles each time
 * the kept candidates are all used, halves when they expire unused, and falls back to one batch on a race.
 * The bytes read at once stay under `maxBytes`, so large payloads mean little or no read-ahead.
 */
export interface ClaimReadAheadOptions {
  /** Batches read at most per read (default 8). */
  maxBatches?: number;
  /** Candidates older than this are not used (default 200 ms). */
  maxAgeMs?: number;
  /** Bytes read at most per read, estimated from the first candidate's size (default 1 MiB). */
  maxBytes?: number;
}

interface Kept {
  candidates: Task[];
  readAt: number;
}

/** A key for a claim's types (undefined: any type). */
export function typesKey(types: readonly string[] | undefined): string {
  return types === undefined ? '*' : [...types].sort().join('\u0000');
}

export class ClaimReadAhead {
  private readonly maxBatches: number;
  private readonly maxAgeMs: number;
  private readonly maxBytes: number;
  private readonly kept = new Map<string, Kept>();
  /** Batches to read next, per types key. */
  private readonly window = new Map<string, number>();
  /** Bytes of a candidate, from the last read (0: unknown). */
  private docBytes = 0;

  constructor(o: ClaimReadAheadOptions = {}) {
    this.maxBatches = Math.max(1, o.maxBatches ?? 8);
    this.maxAgeMs = o.maxAgeMs ?? 200;
    this.maxBytes = o.maxBytes ?? 1024 * 1024;
  }

  /** `n` kept candidates in claim order, or none (none kept, too few, or too old). */
  take(key: string, n: number, nowMs: number): Task[] {
    const k = this.kept.get(key);
    if (!k) return [];
    if (nowMs - k.readAt > this.maxAgeMs) {
      this.kept.delete(key);
      // Read more than was used in time: read less next time.
      this.resize(key, Math.floor(this.batches(key) / 2));
      return [];
    }
    if (k.candidates.length < n) {
      // The queue's tail: a fresh read finds these again, with whatever came since.
      this.kept.delete(key);
      return [];
    }
    const out = k.candidates.splice(0, n);
    if (k.candidates.length === 0) {
      this.kept.delete(key);
      this.resize(key, this.batches(key) * 2);
    }
    return out;
  }

  /** How many candidates a read for a claim of `n` asks for. */
  readLimit(key: string, n: number): number {
    const bytesCap = this.docBytes > 0 ? Math.floor(this.maxBytes / (this.docBytes * n)) : 1;
    return n * Math.max(1, Math.min(this.batches(key), bytesCap));
  }

  /** A read of `asked` candidates returned `read`; the first `n` are claimed now and the rest kept. */
  keep(key: string, read: readonly Task[], n: number, asked: number, nowMs: number): Task[] {
    if (read.length > 0) this.docBytes = BSON.calculateObjectSize(read[0]!);
    if (read.length > n) this.kept.set(key, { candidates: read.slice(n), readAt: nowMs });
    else {
      this.kept.delete(key);
      // A full read of one batch: there is more, so the next read may look further.
      if (read.length === asked) this.resize(key, this.batches(key) * 2);
    }
    return read.slice(0, n);
  }

  /** Another worker took some of what a claim tried: what is kept is likely taken too. */
  contested(key: string): void {
    this.kept.delete(key);
    this.window.set(key, 1);
  }

  /** Tasks were made claimable here: kept candidates that they would sort before are dropped. */
  added(tasks: readonly Pick<Task, 'priority'>[]): void {
    if (this.kept.size === 0 || tasks.length === 0) return;
    const top = Math.max(...tasks.map((t) => t.priority));
    for (const [key, k] of this.kept) {
      if (top > k.candidates[k.candidates.length - 1]!.priority) this.kept.delete(key);
    }
  }

  private batches(key: string): number {
    return this.window.get(key) ?? 1;
  }

  private resize(key: string, batches: number): void {
    this.window.set(key, Math.min(this.maxBatches, Math.max(1, batches)));
  }
}
