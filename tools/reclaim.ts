/**
 * `npm run reclaim`: one reclaimer pass, then exit (the Kubernetes CronJob's command). Prints the
 * summary as JSON; exits 1 when a step failed, 2 on a bad configuration.
 */
import { randomUUID } from 'node:crypto';
import { createServices } from '../lib/app/services.js';
import { reclaimInvocation } from '../lib/app/invocations.js';
import { ConfigError } from '../lib/config/errors.js';

try {
  const services = await createServices({ runtime: 'process' });
  try {
    const summary = await reclaimInvocation(services, { invocationId: randomUUID(), functionName: 'reclaimer' });
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    process.exitCode = summary.ok ? 0 : 1;
  } finally {
    await services.close();
  }
} catch (e) {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = e instanceof ConfigError ? 2 : 1;
}
