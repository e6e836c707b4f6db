/**
 * Coalesces the `complete` calls of one tick into MNS batch deletes (up to 16 handles a request), so a
 * settled batch costs one or two requests instead of one per message. Each caller still learns the
 * outcome of its own handle.
 */
export const MNS_BATCH_LIMIT = 16;

export type BatchDeleteFn = (handles: string[]) => Promise<Map<string, Error>>;

interface Pending {
  handle: string;
  resolve: () => void;
  reject: (e: Error) => void;
}

export class DeleteBatcher {
  private pending: Pending[] = [];
  private scheduled = false;
  private inFlight = new Set<Promise<void>>();

  constructor(private readonly deleteBatch: BatchDeleteFn) {}

  delete(handle: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ handle, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Waits for every delete already asked for. */
  async drain(): Promise<void> {
    while (this.pending.length > 0 || this.inFlight.size > 0) {
      if (this.pending.length > 0) this.flush();
      await Promise.allSettled([...this.inFlight]);
    }
  }

  private flush(): void {
    this.scheduled = false;
    const all = this.pending;
    this.pending = [];
    for (let i = 0; i < all.length; i += MNS_BATCH_LIMIT) {
      const chunk = all.slice(i, i + MNS_BATCH_LIMIT);
      const p = this.send(chunk).finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    }
  }

  private async send(chunk: Pending[]): Promise<void> {
    try {
      const failures = await this.deleteBatch(chunk.map((c) => c.handle));
      for (const c of chunk) {
        const f = failures.get(c.handle);
        if (f) c.reject(f);
        else c.resolve();
      }
    } catch (e) {
      for (const c of chunk) c.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }
}
