import { MongoServerError, type Db, type Document } from 'mongodb';

/** How often the offset is measured again (clocks drift; NTP steps them). */
const REFRESH_MS = 60_000;
/** Samples per measurement. */
const SAMPLES = 3;

/**
 * The database server's clock, as seen from this process: local time plus an offset measured from the
 * server's `localTime` (hello/isMaster), half the round trip taken off. Lease times are the server's
 * (heartbeats are written with `$currentDate`), so a reclaim cutoff computed with this clock does not depend
 * on the reclaiming process's clock; a skewed process reclaims no live lease. A server-side `$expr` with
 * `$$NOW` would need no offset, but it cannot use the `stalled` index (MongoDB before 5.0), so the cutoff
 * stays a plain range on heartbeatAt.
 */
export class ServerClock {
  private offsetMs = 0;
  private measuredAt = Number.NEGATIVE_INFINITY;
  private measuring: Promise<void> | undefined;
  private legacy = false;

  constructor(
    private readonly db: Db,
    private readonly refreshMs = REFRESH_MS,
  ) {}

  /** The server's time now, by the last measured offset (none yet: this process's time). */
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  /** The server's time now, measuring the offset first when it is older than the refresh period. */
  async sync(): Promise<Date> {
    if (performance.now() - this.measuredAt >= this.refreshMs) {
      this.measuring ??= this.measure().finally(() => {
        this.measuring = undefined;
      });
      await this.measuring;
    }
    return this.now();
  }

  /** The offset in ms last measured (server minus local). */
  get offset(): number {
    return this.offsetMs;
  }

  private async measure(): Promise<void> {
    // The sample with the shortest round trip bounds the error best (the first may include connecting).
    let best: { offset: number; roundTrip: number } | undefined;
    for (let i = 0; i < SAMPLES; i++) {
      const sample = await this.sample();
      if (!sample) break;
      if (!best || sample.roundTrip < best.roundTrip) best = sample;
    }
    // A server that does not report its time leaves the offset at 0 (every process then uses its own clock).
    if (best) this.offsetMs = best.offset;
    this.measuredAt = performance.now();
  }

  private async sample(): Promise<{ offset: number; roundTrip: number } | undefined> {
    const command = this.legacy ? { isMaster: 1 } : { hello: 1 };
    const sentAt = Date.now();
    let reply: Document;
    try {
      reply = await this.db.admin().command(command);
    } catch (e) {
      // hello is MongoDB 4.4.2+; older servers (and some compatible ones) answer isMaster only.
      if (this.legacy || !(e instanceof MongoServerError)) throw e;
      this.legacy = true;
      return this.sample();
    }
    const receivedAt = Date.now();
    const localTime: unknown = reply.localTime;
    if (!(localTime instanceof Date)) return undefined;
    return { offset: localTime.getTime() - (sentAt + receivedAt) / 2, roundTrip: receivedAt - sentAt };
  }
}
