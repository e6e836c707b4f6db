/** One caller's answer from a shared write: its own result, or its own error. */
export type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

/**
 * Calls made in one event-loop turn, sent as one write. A worker running a batch of tasks starts them
 * in the same turn, and no-op or fast handlers finish in the same turn, so their lease writes (one
 * updateOne each, serialized by the server behind one another) become one round trip. A caller waits
 * one `setImmediate` longer and gets its own answer: one refused item fails only its caller. Only when
 * `writeAll` itself throws (no answer for anyone) does every caller of the turn get that error.
 */
export class TurnBatch<I, R> {
  private pending: { item: I; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];

  /** `writeAll` returns one answer per item, in order. */
  constructor(private readonly writeAll: (items: I[]) => Promise<Settled<R>[]>) {}

  add(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => void this.flush());
      this.pending.push({ item, resolve, reject });
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    try {
      const answers = await this.writeAll(batch.map((p) => p.item));
      batch.forEach((p, i) => {
        const a = answers[i]!;
        if (a.ok) p.resolve(a.value);
        else p.reject(a.error);
      });
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
  }
}
