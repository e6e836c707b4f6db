/**
 * The error replies the proxy answers in the server's place, shaped as the real servers send them.
 *
 * Step-down and shutdown codes (91, 189, 10107, 11600) follow mongod: `{ ok: 0, errmsg, code, codeName }`,
 * plus the error labels mongod 4.4+ adds itself (its ErrorLabelBuilder):
 *  - `RetryableWriteError` when the failed command is a retryable write (it carries `txnNumber` and is not
 *    inside a multi-document transaction) or is commitTransaction/abortTransaction;
 *  - `TransientTransactionError` when it runs inside a transaction (`autocommit: false`);
 *  - nothing for reads and for writes sent without `txnNumber`: the driver retries reads on the code alone.
 * A server older than 4.4 (maxWireVersion < 9; mongo-java-server reports 8) adds no labels at all: the driver
 * then adds `RetryableWriteError` from the code itself, so the proxy follows the wire version it saw in the
 * handshake replies and adds labels only for 4.4+.
 * `topologyVersion` is left out on purpose: a real server bumps its counter on step-down; echoing a counter the
 * driver has not seen would make the driver ignore the real server's later hello replies as stale.
 * `$clusterTime`/`operationTime` (replica-set gossip) are left out: the driver does not need them to react.
 *
 * 16500 is Azure Cosmos DB for MongoDB (RU-based) throttling. Cosmos is not mongod: the shape below is what
 * captured Cosmos replies show, not a MongoDB spec:
 *  - command errors (reads, findAndModify, aggregate): `{ ok: 0, errmsg: "Error=16500, RetryAfterMs=34,
 *    Details='Response status code does not indicate success: TooManyRequests (429) Substatus: 3200 ActivityId:
 *    … Reason: (…Request rate is large. More Request Units may be needed, so no changes were made. Please retry
 *    this request later. Learn more: http://aka.ms/cosmosdb-error-429…)", code: 16500, codeName:
 *    "RequestRateTooLarge" }` (a Cosmos reply kept as a fixture in several Spring projects' tests, e.g. the
 *    MongoQueryException fixtures found by searching public code for "Error=16500, RetryAfterMs=");
 *  - writes (insert, update, delete) report it per document in `writeErrors`, in an ok: 1 reply:
 *    MicrosoftDocs/azure-docs#69351 shows `BulkWriteError{index=25, code=16500, message='Error=16500,
 *    RetryAfterMs=8, Details='Response status code does not indicate success: TooManyRequests (429); Substatus:
 *    3200; …'}` (the documents before index 25 were written), and pymongo code handling Cosmos throttling
 *    (shylock's Motor backend) catches it as WriteError for insert_one/delete_one;
 *  - no error labels in any captured reply, so the driver never retries it by itself;
 *  - `RetryAfterMs` is not always present (shylock: "Delete does not get a RetryAfterMs"); the proxy always
 *    writes it unless the rule sets `retryAfterMs: null`.
 * The Microsoft docs name it "16500 TooManyRequests" in their error table
 * (https://learn.microsoft.com/azure/cosmos-db/mongodb/error-codes-solutions); the reply's codeName field is
 * "RequestRateTooLarge" in the captured replies, which is what the proxy sends.
 */
import { randomUUID } from 'node:crypto';
import type { Document } from 'mongodb';
import type { RequestInfo } from './wire.js';

export const COSMOS_THROTTLED = 16500;

/** codeName and the message today's mongod sends for each code the proxy knows by heart. */
export const KNOWN_SERVER_ERRORS: Readonly<Record<number, { codeName: string; errmsg: string }>> = {
  91: { codeName: 'ShutdownInProgress', errmsg: 'The server is in quiesce mode and will shut down' },
  189: { codeName: 'PrimarySteppedDown', errmsg: 'Primary stepped down while waiting for replication' },
  10107: { codeName: 'NotWritablePrimary', errmsg: 'not primary' },
  11600: { codeName: 'InterruptedAtShutdown', errmsg: 'interrupted at shutdown' },
  [COSMOS_THROTTLED]: { codeName: 'RequestRateTooLarge', errmsg: '' },
};

/**
 * Codes mongod labels RetryableWriteError (the retryable-writes spec's list; the step-down and shutdown family
 * plus network-ish codes a server can relay).
 */
const RETRYABLE_WRITE_CODES = new Set([6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436, 134]);
/** Codes mongod labels TransientTransactionError inside a transaction (not-primary and shutdown categories). */
const TRANSIENT_TRANSACTION_CODES = new Set([91, 189, 10107, 11600, 11602, 13435, 13436, 6, 7, 89, 9001, 112]);

const RETRYABLE_WRITE_COMMANDS = new Set(['insert', 'update', 'delete', 'findandmodify']);
const TRANSACTION_END_COMMANDS = new Set(['committransaction', 'aborttransaction']);
const WRITE_COMMANDS = new Set(['insert', 'update', 'delete']);

/** What a rule asks the proxy to answer. */
export interface ErrorAnswer {
  code: number;
  codeName?: string;
  errmsg?: string;
  /** Exactly these labels; when absent the proxy adds what the real server would. */
  errorLabels?: string[];
  /** 16500 only: the RetryAfterMs hint; null leaves it out, as Cosmos does on some deletes. */
  retryAfterMs?: number | null;
  /** `command`: ok: 0 reply; `writeError`: ok: 1 with writeErrors[0]. `auto`: writeError for 16500 on writes. */
  shape?: 'auto' | 'command' | 'writeError';
}

/** An error code the proxy has no default codeName/errmsg for, in a rule that gives neither. */
export class UnknownErrorCodeError extends Error {
  constructor(readonly code: number) {
    super(
      `error code ${code} has no built-in codeName/errmsg (known: ${Object.keys(KNOWN_SERVER_ERRORS).join(', ')}); give codeName and errmsg in the rule`,
    );
    this.name = 'UnknownErrorCodeError';
  }
}

/** Cosmos' throttling message (see the header comment for the captured replies it follows). */
export function cosmosThrottleMessage(retryAfterMs: number | null): string {
  const hint = retryAfterMs === null ? '' : ` RetryAfterMs=${retryAfterMs},`;
  return (
    `Error=16500,${hint} Details='Response status code does not indicate success: TooManyRequests (429); Substatus: 3200; ` +
    `ActivityId: ${randomUUID()}; Reason: (\r\nErrors : [\r\n  "Request rate is large. More Request Units may be needed, ` +
    `so no changes were made. Please retry this request later. Learn more: http://aka.ms/cosmosdb-error-429"\r\n]\r\n);`
  );
}

function defaultLabels(code: number, request: RequestInfo, serverMaxWireVersion: number | undefined): string[] {
  // Servers before 4.4 (wire version 9) send no labels; the driver adds them from the code.
  if (serverMaxWireVersion !== undefined && serverMaxWireVersion < 9) return [];
  const command = request.command?.toLowerCase() ?? '';
  const body = request.body ?? {};
  const inTransaction = body.autocommit === false;
  if (TRANSACTION_END_COMMANDS.has(command)) return RETRYABLE_WRITE_CODES.has(code) ? ['RetryableWriteError'] : [];
  if (inTransaction) return TRANSIENT_TRANSACTION_CODES.has(code) ? ['TransientTransactionError'] : [];
  if (RETRYABLE_WRITE_COMMANDS.has(command) && body.txnNumber !== undefined && RETRYABLE_WRITE_CODES.has(code))
    return ['RetryableWriteError'];
  return [];
}

/** The reply document the proxy sends for `answer` to `request`. */
export function errorReply(
  answer: ErrorAnswer,
  request: RequestInfo,
  serverMaxWireVersion: number | undefined,
): Document {
  const known = KNOWN_SERVER_ERRORS[answer.code];
  if (!known && (answer.codeName === undefined || answer.errmsg === undefined))
    throw new UnknownErrorCodeError(answer.code);
  const codeName = answer.codeName ?? known!.codeName;
  const cosmos = answer.code === COSMOS_THROTTLED;
  const errmsg =
    answer.errmsg ??
    (cosmos ? cosmosThrottleMessage(answer.retryAfterMs === undefined ? 100 : answer.retryAfterMs) : known!.errmsg);
  const labels = answer.errorLabels ?? (cosmos ? [] : defaultLabels(answer.code, request, serverMaxWireVersion));
  const command = request.command?.toLowerCase() ?? '';
  const shape =
    answer.shape === undefined || answer.shape === 'auto'
      ? cosmos && WRITE_COMMANDS.has(command)
        ? 'writeError'
        : 'command'
      : answer.shape;

  if (shape === 'writeError') {
    // Nothing was written: for an ordered batch the server stops at the first error, so n is 0 at index 0.
    const reply: Document = { n: 0 };
    if (command === 'update') reply.nModified = 0;
    // No codeName in the entry: none of the captured Cosmos write errors shows one, and the driver reads code.
    reply.writeErrors = [{ index: 0, code: answer.code, errmsg }];
    if (labels.length > 0) reply.errorLabels = labels;
    reply.ok = 1;
    return reply;
  }
  const reply: Document = { ok: 0, errmsg, code: answer.code, codeName };
  if (labels.length > 0) reply.errorLabels = labels;
  return reply;
}
