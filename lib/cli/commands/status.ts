import { expectShape, type Command } from '../command.js';
import { ExitCode } from '../errors.js';
import { age, json, pct, table } from '../format.js';
import * as S from '../schemas.js';

export const statusCommand: Command = {
  name: 'status',
  summary: "Health (database, queues, reclaimer), task counts and the last hour's throughput. Exit 1 when unhealthy.",
  options: {},
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const [h, s] = await Promise.all([
      ctx.client.request('GET', '/health', { accept: [200, 503] }),
      ctx.client.request('GET', '/stats'),
    ]);
    const health = expectShape(S.health, h.data, 'GET /health');
    const stats = expectShape(S.stats, s.data, 'GET /stats');
    const code = health.status === 'healthy' ? ExitCode.ok : ExitCode.failed;
    if (ctx.json) {
      ctx.out(json({ health: h.data, stats: s.data }));
      return code;
    }
    const c = health.checks;
    ctx.out(`Status: ${health.status.toUpperCase()}`);
    ctx.out(
      `  database   ${c.database.ok ? `ok (${c.database.latencyMs ?? '?'} ms)` : `DOWN: ${c.database.error ?? ''}`}`,
    );
    for (const q of c.queues)
      ctx.out(`  queue      ${q.provider}/${q.queue}: ${q.ok ? 'ok' : `UNREACHABLE: ${q.error ?? ''}`}`);
    if (c.reclaimer.configured)
      ctx.out(
        `  reclaimer  ${c.reclaimer.ok ? 'ok' : 'STALE'}; last run ${c.reclaimer.ageMs === null || c.reclaimer.ageMs === undefined ? 'never' : `${age(c.reclaimer.ageMs)} ago`}`,
      );
    ctx.out('');
    const nonZero = stats.statuses.filter((x) => x.count > 0);
    ctx.out(
      table(
        ['STATUS', 'CODE', 'TASKS'],
        nonZero.map((x) => [x.name, String(x.status), String(x.count)]),
      ),
    );
    ctx.out(`total ${stats.total}; oldest waiting ${age(stats.oldestClaimableAgeMs)}`);
    for (const w of stats.waitingWithoutWorker ?? [])
      ctx.out(`NO WORKER: ${w.count} task(s) of type "${w.type}" wait, and no live worker handles that type`);
    const t = stats.throughput;
    ctx.out(
      `last hour: ${t.totals.succeeded} succeeded, ${t.totals.failed} failed, ${t.totals.cancelled} cancelled (${(t.perMinute.succeeded + t.perMinute.failed).toFixed(2)}/min); failure rate ${pct(stats.rates.failureRate)}, retry rate ${pct(stats.rates.retryRate)}`,
    );
    const blocked = stats.blockedOrderingKeys ?? [];
    if (blocked.length > 0)
      ctx.out(
        `blocked ordering keys (${blocked.length}${blocked.length >= 20 ? '+' : ''}): ${blocked.map((k) => `${k.key} (task ${k.activeTaskId ?? '?'})`).join(', ')}; see taskctl keys --blocked`,
      );
    return code;
  },
};
