/**
 * The dashboard's scripts as the page embeds them. The browser code (./client) is TypeScript compiled
 * with the rest; each of its functions is self-contained, so its compiled source (`fn.toString()`) runs
 * as it is in the browser, whether this process runs the tsc output (dist/) or the sources under tsx.
 * What the client must know of the task model (the status table) goes in as data, from JobTaskStatus.
 */
import {
  JobTaskStatus,
  leasedStatuses,
  retryableByOperatorStatuses,
  waitingStatuses,
  type JobTaskStatusName,
} from '../../tasks/status.js';
import { domKit } from './client/dom.js';
import { formatKit } from './client/format.js';
import { main, type ClientKits } from './client/main.js';
import { overviewKit } from './client/overview.js';
import { signIn } from './client/sign-in.js';
import { tasksKit } from './client/tasks.js';
import type { ClientConfig } from './client/types.js';

/** The sessionStorage key that holds the admin key for one browser tab. */
export const ADMIN_KEY_STORAGE = 'taskmesh.adminKey';

/** The statuses shown as count cards, in order. */
const CARDS: readonly JobTaskStatusName[] = [
  'Queued',
  'Assigned',
  'Running',
  'Retrying',
  'Succeeded',
  'Error',
  'Timeout',
  'Cancelled',
  'Failed',
];

export function clientConfig(): ClientConfig {
  return {
    statuses: Object.entries(JobTaskStatus).map(([name, value]) => ({ name, value })),
    cards: CARDS,
    cancellable: [...waitingStatuses, ...leasedStatuses],
    retryable: [...retryableByOperatorStatuses],
    storageKey: ADMIN_KEY_STORAGE,
    pollMs: 1500,
  };
}

/** JSON that cannot end the <script> element it sits in. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

function source(fn: (...args: never[]) => unknown): string {
  const text = fn.toString();
  if (/<\/script/i.test(text))
    throw new Error(`The dashboard function ${fn.name} contains "</script"; it cannot be embedded.`);
  return text;
}

/**
 * tsx (esbuild with keepNames) compiles `const f = () => …` into `const f = __name(() => …, "f")` and
 * defines `__name` once per module, outside the function; the embedded source needs it as a no-op.
 */
const PRELUDE = "'use strict';\nconst __name = (target) => target;";

let dashboard: string | undefined;

/** The dashboard page's script (built on first use, then kept: it depends on nothing per request). */
export function dashboardScript(): string {
  if (dashboard === undefined) {
    const kits = { domKit, formatKit, overviewKit, tasksKit } satisfies ClientKits;
    const args = Object.entries(kits).map(([name, fn]) => `${name}: ${source(fn)}`);
    const call = `(${source(main)})(${scriptJson(clientConfig())}, {\n${args.join(',\n')}\n});`;
    dashboard = `(() => {\n${PRELUDE}\n${call}\n})();`;
  }
  return dashboard;
}

/** The sign-in page's script. */
export function signInScript(refused: boolean): string {
  return `(() => {\n${PRELUDE}\n(${source(signIn)})(${scriptJson(ADMIN_KEY_STORAGE)}, ${refused});\n})();`;
}
