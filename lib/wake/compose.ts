import { randomUUID } from 'node:crypto';
import type { Db } from 'mongodb';
import type { Logger } from '../log/logger.js';
import { databaseChannel } from './database.js';
import { WakeHub } from './hub.js';
import { inProcessChannel } from './in-process.js';

export interface WakeHubSettings {
  logger?: Logger;
  /** Reach (and hear) other processes through the database (default true). */
  database?: boolean;
  /** Announcements per second to other processes and the host's targets (default 20). */
  perSecond?: number;
  /** Poll pause of the database channel while a listener wants work (default 15 ms). */
  pollMs?: number;
}

/** The wake-ups every host composes: in process at once, other processes through the database. */
export function createWakeHub(db: Db, o: WakeHubSettings = {}): WakeHub {
  const shared =
    o.database === false
      ? []
      : [
          databaseChannel(db, {
            origin: randomUUID(),
            ...(o.pollMs !== undefined ? { pollMs: o.pollMs } : {}),
            ...(o.logger ? { logger: o.logger } : {}),
          }),
        ];
  return new WakeHub({
    local: inProcessChannel(),
    shared,
    ...(o.perSecond !== undefined ? { coalesce: { perSecond: o.perSecond } } : {}),
    ...(o.logger ? { logger: o.logger } : {}),
  });
}
