/// <reference lib="dom" />
/** The dashboard's task list and task detail drawer (self-contained, see dom.ts). */
import type { App } from './app.js';
import type { Child } from './dom.js';
import type { ApiResult, CancelAnswer, TaskDetail, TaskPage } from './types.js';

export function tasksKit(app: App) {
  const { config, state, api, problemText } = app;
  const { byId, h, fill, badge, toast } = app.dom;
  const { ago, time, short } = app.format;
  const cancellable = (status: number) => config.cancellable.includes(status);

  // Re-render a section only when its data changed (or every 10 s, for the relative times), so rows
  // under the pointer stay the same elements between polls.
  const drawn: Record<string, { sig: string; at: number } | undefined> = {};
  function changed(name: string, data: unknown): boolean {
    const sig = JSON.stringify(data);
    const prev = drawn[name];
    if (prev && prev.sig === sig && Date.now() - prev.at < 10000) return false;
    drawn[name] = { sig, at: Date.now() };
    return true;
  }

  const emptyRow = (text: string) => h('tr', {}, h('td', { colspan: 8, class: 'empty', text }));

  function renderTasks(r: ApiResult<TaskPage>): void {
    if (!changed('tasks', [r.status, r.data, state.selected, state.page])) return;
    const body = byId('tasks');
    if (!r.ok) {
      body.replaceChildren(emptyRow(problemText(r)));
      return;
    }
    state.nextCursor = r.data.nextCursor;
    byId<HTMLButtonElement>('next').disabled = !state.nextCursor;
    byId<HTMLButtonElement>('prev').disabled = state.page === 0;
    byId('page-info').textContent = 'Page ' + (state.page + 1);
    if (!r.data.items.length) {
      body.replaceChildren(emptyRow('No tasks match'));
      return;
    }
    const rows = r.data.items.map((t) => {
      const requested = t.cancelRequested && cancellable(t.status);
      return h(
        'tr',
        {
          class: 'clickable' + (state.selected === t.id ? ' selected' : ''),
          'data-task-id': t.id,
          'data-status': t.statusName,
          onclick: () => app.select(t.id),
        },
        h('td', { class: 'mono', title: t.id, text: short(t.id) }),
        h('td', { text: t.type }),
        h('td', {}, badge(t.statusName), requested ? h('span', { class: 'tag', text: 'cancel requested' }) : null),
        h('td', { class: 'num', text: t.attempts + ' / ' + (t.maxRetries + 1) }),
        h('td', { class: 'mono muted', title: t.workerId || '', text: t.workerId ? short(t.workerId) : '—' }),
        h('td', { title: time(t.createdAt), text: ago(t.createdAt) }),
        h('td', { title: time(t.updatedAt), text: ago(t.updatedAt) }),
        h('td', { class: 'err', title: t.lastError || '', text: t.lastError || '' }),
      );
    });
    body.replaceChildren(...rows);
  }

  function actions(t: TaskDetail): HTMLElement[] {
    const cancel = async () => {
      const path = '/tasks/' + encodeURIComponent(t.id) + '/cancel';
      const res = await api<CancelAnswer>('POST', path, { reason: 'cancelled from the dashboard' });
      if (res.ok)
        toast(
          res.data.outcome === 'requested' ? 'Cancel requested; the worker will stop the task' : 'Task cancelled',
          true,
        );
      else toast('Cancel failed: ' + problemText(res), false);
    };
    const retry = async (e: Event) => {
      (e.currentTarget as HTMLButtonElement).disabled = true;
      const path = '/tasks/' + encodeURIComponent(t.id) + '/retry';
      const res = await api<TaskDetail>('POST', path, { expectedVersion: t.version });
      if (res.ok) toast('Task sent back for another attempt', true);
      else toast('Retry failed: ' + problemText(res), false);
      await app.refresh();
    };
    const canCancel = cancellable(t.status) && !t.cancelRequested;
    const canRetry = config.retryable.includes(t.status);
    return [
      app.confirmButton('cancel:' + t.id, 'Cancel task', 'Confirm cancel', !canCancel, cancel, 'cancel-btn'),
      h('button', {
        class: 'small',
        disabled: !canRetry,
        'data-testid': 'retry-btn',
        text: 'Retry',
        onclick: (e) => void retry(e),
      }),
    ];
  }

  function overview(t: TaskDetail): HTMLElement {
    const source = t.source
      ? t.source.provider + ' / ' + t.source.queue + (t.source.messageId ? ' / ' + t.source.messageId : '')
      : '—';
    const rows: [string, string | number][] = [
      ['Status', t.statusName + ' (' + t.status + ')'],
      ['Attempts', t.attempts + ' of ' + (t.maxRetries + 1)],
      ['Priority', t.priority],
      ['Worker', t.owner ? t.owner.workerId : '—'],
      ['Created', time(t.createdAt)],
      ['Started', time(t.startedAt)],
      ['Finished', time(t.finishedAt)],
      ['Next attempt', time(t.nextAttemptAt)],
      ['Heartbeat', t.heartbeatAt ? ago(t.heartbeatAt) : '—'],
      ['Version', t.version],
      ['Idempotency key', t.idempotencyKey],
      ['Source', source],
      ['Reason', t.reason || '—'],
      ['Trace', t.traceparent || '—'],
    ];
    const kv = h('dl', { class: 'kv' });
    for (const [k, v] of rows) {
      kv.appendChild(h('dt', { text: k }));
      kv.appendChild(h('dd', { class: k === 'Idempotency key' || k === 'Trace' ? 'mono' : '', text: v }));
    }
    return kv;
  }

  // An opened stack trace stays open across re-renders.
  const openStacks: Record<string, boolean> = {};
  function stackTrace(key: string, stack: string): HTMLElement {
    const d = h(
      'details',
      { open: !!openStacks[key] },
      h('summary', { text: 'Stack trace' }),
      h('pre', { text: stack }),
    );
    d.addEventListener('toggle', () => {
      openStacks[key] = d.open;
    });
    return d;
  }

  function errors(t: TaskDetail): Child {
    if (!t.errors.length) return h('div', { class: 'muted', text: 'None' });
    return t.errors
      .slice()
      .reverse()
      .map((e) =>
        h(
          'div',
          { class: 'error-item' },
          h('div', { class: 'msg', text: (e.kind ? e.kind + ': ' : '') + e.message }),
          h('div', {
            class: 'muted',
            text: 'attempt ' + e.attempt + (e.workerId ? ' · ' + e.workerId : '') + ' · ' + time(e.at),
          }),
          e.stack ? stackTrace(t.id + ':' + e.attempt + ':' + e.at, e.stack) : null,
        ),
      );
  }

  function history(t: TaskDetail): HTMLElement {
    const entries = t.history
      .slice()
      .reverse()
      .map((e, i, all) => {
        // Some writes do not record the state they left; only the first entry is really "new".
        const from: Child = e.fromName
          ? [badge(e.fromName), ' → ']
          : i === all.length - 1
            ? [h('span', { class: 'muted', text: 'new' }), ' → ']
            : ['→ '];
        const when = time(e.at) + (e.by ? ' · by ' + e.by : '') + (e.reason ? ' · ' + e.reason : '');
        return h(
          'li',
          {},
          h(
            'div',
            {},
            from,
            badge(e.toName),
            ' ',
            h('span', { class: 'muted mono', text: (e.from === null ? '' : e.from + '→') + e.to }),
          ),
          h('div', { class: 'when', text: when }),
        );
      });
    return h('ol', { class: 'timeline' }, entries);
  }

  function renderDetail(): void {
    const t = state.detail;
    const drawer = byId('detail');
    if (!state.selected) {
      drawer.classList.remove('open');
      return;
    }
    drawer.classList.add('open');
    if (!t) {
      drawn.detail = undefined;
      byId('detail-body').replaceChildren(h('div', { class: 'empty', text: 'Loading…' }));
      return;
    }
    if (!changed('detail', [t, state.confirm])) return;
    byId('detail-title').textContent = t.type;
    fill(
      byId('detail-sub'),
      h('span', { class: 'mono muted', text: t.id }),
      ' ',
      h('span', {
        class: 'badge st-' + t.statusName,
        'data-testid': 'detail-status',
        'data-status': t.status,
        text: t.statusName + ' (' + t.status + ')',
      }),
      t.cancelRequested && cancellable(t.status) ? h('span', { class: 'tag', text: 'cancel requested' }) : null,
    );
    byId('detail-actions').replaceChildren(...actions(t));
    const pretty = (v: unknown) => h('pre', { text: JSON.stringify(v, null, 2) });
    const sections = [
      h('section', {}, h('h4', { text: 'Overview' }), overview(t)),
      h('section', {}, h('h4', { text: 'Payload' }), pretty(t.payload)),
    ];
    if (t.result !== null) sections.push(h('section', {}, h('h4', { text: 'Result' }), pretty(t.result)));
    if (t.progress !== null) sections.push(h('section', {}, h('h4', { text: 'Progress' }), pretty(t.progress)));
    sections.push(
      h(
        'section',
        { 'data-testid': 'detail-errors' },
        h('h4', { text: 'Errors (' + t.errors.length + ')' }),
        errors(t),
      ),
      h('section', { 'data-testid': 'detail-history' }, h('h4', { text: 'History' }), history(t)),
    );
    byId('detail-body').replaceChildren(...sections);
  }

  return { renderTasks, renderDetail };
}
