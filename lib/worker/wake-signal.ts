/**
 * A sleep that ends early when notified: the run loop waits on it between polls and wakes when a slot
 * frees or stop is asked.
 */
export class WakeSignal {
  private wakeUp: (() => void) | undefined;
  private notified = false;
  private hinted = 0;

  /** `hinted`: tasks a wake-up announced (0 for a freed slot or a stop). */
  notify(hinted = 0): void {
    this.hinted += hinted;
    this.notified = true;
    this.wakeUp?.();
  }

  /** Tasks announced by wake-ups since the last call (a hint: the store decides what is claimable). */
  takeHinted(): number {
    const n = this.hinted;
    this.hinted = 0;
    return n;
  }

  /** Resolves after `ms`, or at once if notified since the last wait. */
  wait(ms: number): Promise<void> {
    if (this.notified) {
      this.notified = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined = undefined;
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        this.notified = false;
        resolve();
      };
      timer = setTimeout(done, Math.max(0, Math.min(ms, 2_147_483_647)));
      this.wakeUp = done;
    });
  }
}
