/// <reference lib="dom" />
/** The dashboard's overview: health, counts, throughput, rates, workers, queues (self-contained, see dom.ts). */
import type { App } from './app.js';
import type { ApiResult, Health, OrderingKeyItem, QueueItem, Replay, Stats, WorkerItem } from './types.js';

export function overviewKit(app: App) {
  const { config, api, problemText } = app;
  const { byId, add, h, svg, badge, toast } = app.dom;
  const { age, ago, pct, time } = app.format;

  const isHealth = (x: unknown): x is Health => typeof x === 'object' && x !== null && 'checks' in x;

  // The body of a 503 is a health report too: it says what is down.
  function renderHealth(r: ApiResult<Health>): void {
    const el = byId('health');
    el.replaceChildren();
    if (!isHealth(r.data)) {
      el.className = 'pill warn';
      add(el, [h('span', { class: 'dot' }), 'Unknown']);
      return;
    }
    const healthy = r.data.status === 'healthy';
    el.className = 'pill ' + (healthy ? 'ok' : 'bad');
    const c = r.data.checks;
    const why: string[] = [];
    if (!c.database.ok) why.push('database: ' + (c.database.error || 'down'));
    for (const q of c.queues) if (!q.ok) why.push(q.provider + '/' + q.queue + ': ' + (q.error || 'unreachable'));
    if (!c.reclaimer.ok) why.push('reclaimer stale');
    const ran = c.reclaimer.lastRunAt ? ago(c.reclaimer.lastRunAt) : 'never';
    el.title = why.length
      ? why.join('\n')
      : 'Database ' +
        (c.database.latencyMs !== undefined ? c.database.latencyMs + ' ms' : 'ok') +
        (c.reclaimer.configured ? '; reclaimer ran ' + ran : '');
    add(el, [h('span', { class: 'dot' }), healthy ? 'Healthy' : 'Unhealthy']);
    byId('reclaimer').textContent = c.reclaimer.configured
      ? 'Reclaimer: ' + (c.reclaimer.lastRunAt ? ago(c.reclaimer.lastRunAt) : 'never ran')
      : '';
  }

  function renderCounts(stats: Stats): void {
    const cards = config.cards.map((name) =>
      h(
        'div',
        { class: 'card c-' + name, title: 'Show ' + name + ' tasks', onclick: () => app.setStatusFilter(name) },
        h('div', { class: 'label', text: name }),
        h('div', { class: 'value', 'data-testid': 'count-' + name, text: (stats.counts[name] || 0).toLocaleString() }),
      ),
    );
    cards.push(
      h(
        'div',
        { class: 'card static c-total' },
        h('div', { class: 'label', text: 'Total' }),
        h('div', { class: 'value', 'data-testid': 'count-total', text: stats.total.toLocaleString() }),
      ),
      h(
        'div',
        { class: 'card static c-age', title: 'Age of the oldest task waiting to be claimed' },
        h('div', { class: 'label', text: 'Oldest waiting' }),
        h('div', { class: 'value', text: stats.oldestClaimableAgeMs === null ? '—' : age(stats.oldestClaimableAgeMs) }),
      ),
    );
    // Types nobody serves would wait silently: one warning card per type.
    for (const w of stats.waitingWithoutWorker || [])
      cards.push(
        h(
          'div',
          {
            class: 'card static c-unserved',
            'data-testid': 'unserved-' + w.type,
            title: 'Tasks of this type wait, and no live worker handles it',
          },
          h('div', { class: 'label', text: 'No worker: ' + w.type }),
          h('div', { class: 'value', text: w.count.toLocaleString() }),
        ),
      );
    byId('counts').replaceChildren(...cards);
  }

  function renderChart(stats: Stats): void {
    const t = stats.throughput;
    const W = 720;
    const H = 200;
    const L = 34;
    const B = 22;
    const T = 10;
    const n = t.buckets.length || 1;
    let max = 1;
    for (const b of t.buckets) max = Math.max(max, b.succeeded + b.failed + b.cancelled);
    const bw = (W - L) / n;
    const y = (v: number) => T + (H - T - B) * (1 - v / max);
    const chart = svg('svg', {
      viewBox: '0 0 ' + W + ' ' + H,
      preserveAspectRatio: 'none',
      role: 'img',
      'aria-label': 'Tasks finished per minute',
    });
    for (const v of [0, Math.ceil(max / 2), max]) {
      chart.appendChild(svg('line', { class: 'grid', x1: L, x2: W, y1: y(v), y2: y(v) }));
      chart.appendChild(svg('text', { class: 'axis', x: L - 6, y: y(v) + 4, 'text-anchor': 'end', text: v }));
    }
    t.buckets.forEach((b, i) => {
      const x = L + i * bw + 1;
      const w = Math.max(1, bw - 2);
      let base = H - B;
      const g = svg('g', {});
      const parts: [string, number][] = [
        ['s', b.succeeded],
        ['f', b.failed],
        ['c', b.cancelled],
      ];
      for (const [cls, count] of parts) {
        if (!count) continue;
        const hgt = ((H - T - B) * count) / max;
        base -= hgt;
        g.appendChild(svg('rect', { class: 'bar-' + cls, x, y: base, width: w, height: hgt, rx: 1.5 }));
      }
      const hit = svg('rect', { class: 'hit', x: L + i * bw, y: T, width: bw, height: H - T - B });
      const counts = b.succeeded + ' succeeded, ' + b.failed + ' failed, ' + b.cancelled + ' cancelled';
      const retried = b.retried ? ' (' + b.retried + ' retried)' : '';
      hit.appendChild(svg('title', { text: time(b.at) + ' — ' + counts + retried }));
      g.appendChild(hit);
      chart.appendChild(g);
    });
    const minutes = Math.round((new Date(t.until).getTime() - new Date(t.since).getTime()) / 60000);
    const axis: [number, string, string][] = [
      [0, minutes + 'm ago', 'start'],
      [0.5, Math.round(minutes / 2) + 'm ago', 'middle'],
      [1, 'now', 'end'],
    ];
    for (const [at, label, anchor] of axis) {
      chart.appendChild(
        svg('text', { class: 'axis', x: L + (W - L) * at, y: H - 6, 'text-anchor': anchor, text: label }),
      );
    }
    byId('chart').replaceChildren(
      chart,
      h(
        'div',
        { class: 'legend' },
        h('span', {}, h('i', { class: 'bg-s' }), 'Succeeded ' + t.totals.succeeded),
        h('span', {}, h('i', { class: 'bg-f' }), 'Failed ' + t.totals.failed),
        h('span', {}, h('i', { class: 'bg-c' }), 'Cancelled ' + t.totals.cancelled),
        h('span', { text: (t.perMinute.succeeded + t.perMinute.failed).toFixed(2) + ' finished / min' }),
      ),
    );
    byId('rates').replaceChildren(
      rate('Succeeded / min', t.perMinute.succeeded.toFixed(2)),
      rate('Failed / min', t.perMinute.failed.toFixed(2)),
      rate('Failure rate', pct(stats.rates.failureRate)),
      rate('Retry rate', pct(stats.rates.retryRate)),
    );
  }

  function rate(k: string, v: string) {
    return h('div', { class: 'rate' }, h('span', { class: 'k', text: k }), h('span', { class: 'v', text: v }));
  }

  const emptyRow = (colspan: number, text: string) => h('tr', {}, h('td', { colspan, class: 'empty', text }));

  function renderWorkers(r: ApiResult<{ items: WorkerItem[] }>): void {
    const items = r.ok ? r.data.items : [];
    byId('workers-count').textContent = String(items.length);
    if (!items.length) {
      byId('workers').replaceChildren(emptyRow(6, 'No workers registered'));
      return;
    }
    const rows = items.map((w) => {
      const host = w.host
        ? (w.host.podName || w.host.hostname || '') + (w.host.runtime ? ' · ' + w.host.runtime : '')
        : '';
      return h(
        'tr',
        { 'data-worker-id': w.id },
        h('td', { class: 'mono', title: w.id, text: w.id.length > 34 ? w.id.slice(0, 34) + '…' : w.id }),
        h('td', {}, badge(w.state, 'ws-' + w.state), w.stale ? h('span', { class: 'tag', text: 'stale' }) : null),
        h('td', { class: 'num' + (w.stale ? ' err' : ''), text: age(w.heartbeatAgeMs) }),
        h('td', { class: 'num', title: w.currentTaskIds.join('\n'), text: w.currentTasks + ' / ' + w.concurrency }),
        h('td', { class: 'num', text: w.processed === null ? '—' : w.processed }),
        h('td', { class: 'muted', text: host }),
      );
    });
    byId('workers').replaceChildren(...rows);
  }

  const num = (v: number | null) => (v === null ? '—' : v.toLocaleString());

  function renderQueues(r: ApiResult<{ items: QueueItem[] }>): void {
    const items = r.ok ? r.data.items : [];
    byId('queues-count').textContent = String(items.length);
    if (!items.length) {
      byId('queues').replaceChildren(emptyRow(7, 'No queue providers configured'));
      return;
    }
    const rows = items.map((q) => {
      const replay = async () => {
        const path = '/queues/' + encodeURIComponent(q.queue) + '/dead-letters/replay';
        const res = await api<Replay>('POST', path, { provider: q.provider, max: 100 });
        if (res.ok) {
          const failed = res.data.failed ? ', ' + res.data.failed + ' failed' : '';
          toast('Replayed ' + res.data.replayed + ' message(s)' + failed, !res.data.failed);
        } else {
          toast('Replay failed: ' + problemText(res), false);
        }
      };
      const reachable = q.reachable
        ? h('span', { class: 'pill ok', text: 'reachable' })
        : h('span', { class: 'pill bad', title: q.error || '', text: 'unreachable' });
      const key = 'replay:' + q.provider + ':' + q.queue;
      return h(
        'tr',
        {},
        h('td', { text: q.provider }),
        h('td', { class: 'mono', text: q.queue }),
        h('td', { class: 'num', text: num(q.depth) }),
        h('td', { class: 'num' + (q.deadLetterDepth ? ' err' : ''), text: num(q.deadLetterDepth) }),
        h('td', { class: 'num', text: q.oldestMessageAgeMs === null ? '—' : age(q.oldestMessageAgeMs) }),
        h('td', {}, reachable),
        h('td', {}, app.confirmButton(key, 'Replay DLQ', 'Replay up to 100?', q.deadLetterDepth === 0, replay)),
      );
    });
    byId('queues').replaceChildren(...rows);
  }

  /** Keys held up by a failed task: open the task, or let the key go on past it. */
  function renderBlockedKeys(stats: Stats): void {
    const items = stats.blockedOrderingKeys || [];
    byId('blocked-count').textContent = String(items.length);
    if (!items.length) {
      byId('blocked-keys').replaceChildren(emptyRow(5, 'No blocked keys'));
      return;
    }
    const rows = items.map((k: OrderingKeyItem) => {
      const unblock = async () => {
        const res = await api('POST', '/ordering-keys/' + encodeURIComponent(k.key) + '/unblock', {});
        toast(res.ok ? 'Unblocked ' + k.key : 'Unblock failed: ' + problemText(res), res.ok);
      };
      const task = k.activeTaskId;
      return h(
        'tr',
        { 'data-key': k.key },
        h('td', { class: 'mono', text: k.key }),
        h(
          'td',
          { class: 'mono' },
          task
            ? h('span', { class: 'clickable', title: 'Show task', text: task, onclick: () => app.select(task) })
            : '—',
        ),
        h('td', { class: 'num', text: k.seq.toLocaleString() }),
        h('td', { class: 'muted', text: ago(k.updatedAt) }),
        h('td', {}, app.confirmButton('unblock:' + k.key, 'Unblock', 'Skip the failed task?', false, unblock)),
      );
    });
    byId('blocked-keys').replaceChildren(...rows);
  }

  return { renderHealth, renderCounts, renderChart, renderWorkers, renderQueues, renderBlockedKeys };
}
