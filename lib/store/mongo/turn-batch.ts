/**
 * Calls made in one event-loop turn, sent as one write. A worker running a batch of tasks starts them
 * in the same turn, and no-op or fast handlers finish in the same turn, so their lease writes (one
 * updateOne each, serialized by the server behind one another) become one round trip. A caller waits
 * one `setImmediate` longer; each still gets its own result, or the shared write's error.
 */
export class TurnBatch<I, R> {
  private pending: { item: I; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];

  /** `writeAll` returns one result per item, in order. */
  constructor(private readonly writeAll: (items: I[]) => Promise<R[]>) {}

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
      const results = await this.writeAll(batch.map((p) => p.item));
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
  }
}
