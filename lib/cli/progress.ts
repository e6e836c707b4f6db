/**
 * A progress bar on stderr. On a terminal it redraws one line; elsewhere (CI logs, pipes) it prints a
 * line at each tenth, so logs stay short.
 */
export class ProgressBar {
  private lastTenth = -1;
  private readonly began = Date.now();

  constructor(
    private readonly stream: { write(s: string): unknown; isTTY?: boolean },
    private readonly total: number,
    private readonly label = 'enqueue',
  ) {}

  update(done: number, failed: number): void {
    const tenth = this.total ? Math.floor((done / this.total) * 10) : 10;
    if (this.stream.isTTY) {
      this.stream.write(`\r${this.line(done, failed)}`);
      if (done >= this.total) this.stream.write('\n');
      return;
    }
    if (tenth !== this.lastTenth || done >= this.total) {
      if (done >= this.total && this.lastTenth === 10) return;
      this.lastTenth = tenth;
      this.stream.write(`${this.line(done, failed)}\n`);
    }
  }

  private line(done: number, failed: number): string {
    const width = 30;
    const ratio = this.total ? Math.min(1, done / this.total) : 1;
    const filled = Math.round(ratio * width);
    const secs = Math.max(0.001, (Date.now() - this.began) / 1000);
    return `${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${this.total} ${(ratio * 100).toFixed(0)}% ${(done / secs).toFixed(1)}/s${failed ? ` ${failed} failed` : ''}`;
  }
}
