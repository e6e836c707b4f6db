/// <reference lib="dom" />
/**
 * The dashboard's browser script: it polls the JSON routes every `config.pollMs` and renders what they
 * say. Self-contained (see dom.ts): the page calls it with the status table as data and the other
 * kits by their source.
 */
import type { App } from './app.js';
import type { domKit } from './dom.js';
import type { formatKit } from './format.js';
import type { overviewKit } from './overview.js';
import type { tasksKit } from './tasks.js';
import type {
  ApiResult,
  ClientConfig,
  DashboardState,
  Health,
  QueueItem,
  Stats,
  TaskDetail,
  TaskPage,
  WorkerItem,
} from './types.js';

/** The browser functions `main` is handed, each by its compiled source. */
export interface ClientKits {
  domKit: typeof domKit;
  formatKit: typeof formatKit;
  overviewKit: typeof overviewKit;
  tasksKit: typeof tasksKit;
}

export function main(config: ClientConfig, kits: ClientKits): void {
  const dom = kits.domKit();
  const format = kits.formatKit();
  const { byId, add, h } = dom;
  const BASE = document.body.getAttribute('data-base') || '/api';
  const KEY = config.storageKey;

  // The key arrives once as ?code=; it moves to sessionStorage and out of the address bar (and history).
  const params = new URLSearchParams(location.search);
  if (params.has('code')) {
    sessionStorage.setItem(KEY, params.get('code') || '');
    params.delete('code');
    const rest = params.toString();
    history.replaceState(null, '', location.pathname + (rest ? '?' + rest : '') + location.hash);
  }

  const state: DashboardState = {
    cursors: [null],
    page: 0,
    nextCursor: null,
    selected: null,
    detail: null,
    paused: false,
    busy: false,
    lastOk: 0,
    failing: false,
    confirm: {},
    filters: { status: '', type: '', worker: '' },
  };

  async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<ApiResult<T>> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      'x-functions-key': sessionStorage.getItem(KEY) || '',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(BASE + path, {
      method,
      headers,
      cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let data: unknown = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (res.status === 401) showKeyPrompt(true);
    // The admin API is this codebase's own server: a successful answer has the shape its route declares.
    return res.ok ? { ok: true, status: res.status, data: data as T } : { ok: false, status: res.status, data };
  }

  function problemText(r: { status: number; data: unknown }): string {
    if (typeof r.data === 'object' && r.data !== null) {
      const p = r.data as { detail?: unknown; title?: unknown };
      const text = p.detail || p.title;
      if (typeof text === 'string' && text) return text;
    }
    return 'HTTP ' + r.status;
  }

  function showKeyPrompt(invalid: boolean): void {
    byId('key-error').textContent = invalid ? 'The admin key was refused. Enter it again.' : '';
    byId('key-overlay').classList.add('show');
  }

  // A destructive action takes two clicks; the armed state survives the re-render of the next poll.
  function confirmButton(
    key: string,
    label: string,
    confirmLabel: string,
    disabled: boolean,
    action: () => Promise<void>,
    testid?: string,
  ): HTMLButtonElement {
    const armed = (state.confirm[key] ?? 0) > Date.now();
    return h('button', {
      class: 'small danger' + (armed ? ' confirm' : ''),
      disabled,
      'data-testid': testid,
      text: armed ? confirmLabel : label,
      onclick: (e) => {
        e.stopPropagation();
        if (!((state.confirm[key] ?? 0) > Date.now())) {
          state.confirm[key] = Date.now() + 4000;
          renderAll();
          return;
        }
        delete state.confirm[key];
        (e.currentTarget as HTMLButtonElement).disabled = true;
        void action().then(refresh);
      },
    });
  }

  const app: App = {
    config,
    dom,
    format,
    state,
    api,
    problemText,
    refresh,
    renderAll,
    select,
    setStatusFilter,
    confirmButton,
  };
  const overview = kits.overviewKit(app);
  const tasks = kits.tasksKit(app);

  let last: {
    health?: ApiResult<Health>;
    stats?: ApiResult<Stats>;
    workers?: ApiResult<{ items: WorkerItem[] }>;
    queues?: ApiResult<{ items: QueueItem[] }>;
    tasks?: ApiResult<TaskPage>;
  } = {};

  function renderAll(): void {
    if (last.health) overview.renderHealth(last.health);
    if (last.stats && last.stats.ok) {
      overview.renderCounts(last.stats.data);
      overview.renderChart(last.stats.data);
      overview.renderBlockedKeys(last.stats.data);
    }
    if (last.workers) overview.renderWorkers(last.workers);
    if (last.queues) overview.renderQueues(last.queues);
    if (last.tasks) tasks.renderTasks(last.tasks);
    tasks.renderDetail();
  }

  function taskQuery(): string {
    const q = new URLSearchParams();
    if (state.filters.status) q.set('status', state.filters.status);
    if (state.filters.type) q.set('type', state.filters.type);
    if (state.filters.worker) q.set('worker', state.filters.worker);
    q.set('limit', '25');
    const c = state.cursors[state.page];
    if (c) q.set('cursor', c);
    return '/tasks?' + q.toString();
  }

  async function refresh(): Promise<void> {
    if (state.busy) return;
    state.busy = true;
    try {
      const [health, stats, workers, queues, list, detail] = await Promise.all([
        api<Health>('GET', '/health'),
        api<Stats>('GET', '/stats'),
        api<{ items: WorkerItem[] }>('GET', '/workers'),
        api<{ items: QueueItem[] }>('GET', '/queues'),
        api<TaskPage>('GET', taskQuery()),
        state.selected ? api<TaskDetail>('GET', '/tasks/' + encodeURIComponent(state.selected)) : null,
      ]);
      last = { health, stats, workers, queues, tasks: list };
      if (detail && detail.ok) state.detail = detail.data;
      state.lastOk = Date.now();
      state.failing = false;
      byId('banner').classList.remove('show');
      renderAll();
    } catch (e) {
      state.failing = true;
      const why = e instanceof Error && e.message ? e.message : 'network error';
      byId('banner').textContent = 'Cannot reach the admin API (' + why + '); retrying…';
      byId('banner').classList.add('show');
    }
    state.busy = false;
    renderLive();
  }

  function renderLive(): void {
    const el = byId('live');
    el.replaceChildren();
    if (state.paused) {
      el.className = 'pill warn';
      add(el, [h('span', { class: 'dot' }), 'Paused']);
      return;
    }
    if (state.failing) {
      el.className = 'pill bad live';
      add(el, [h('span', { class: 'dot' }), 'Reconnecting']);
      return;
    }
    el.className = 'pill ok live';
    add(el, [h('span', { class: 'dot' }), 'Live']);
    byId('updated').textContent = state.lastOk ? 'updated ' + new Date(state.lastOk).toLocaleTimeString() : '';
  }

  async function loop(): Promise<void> {
    if (!state.paused && !document.hidden) await refresh();
    setTimeout(() => void loop(), config.pollMs);
  }

  function select(id: string): void {
    if (state.selected !== id) state.detail = null;
    state.selected = id;
    renderAll();
    void refresh();
  }

  const statusSelect = byId<HTMLSelectElement>('f-status');
  const typeInput = byId<HTMLInputElement>('f-type');
  const workerInput = byId<HTMLInputElement>('f-worker');

  function setStatusFilter(name: string): void {
    statusSelect.value = name;
    applyFilters();
  }

  function applyFilters(): void {
    state.filters = { status: statusSelect.value, type: typeInput.value.trim(), worker: workerInput.value.trim() };
    state.cursors = [null];
    state.page = 0;
    void refresh();
  }

  function closeDetail(): void {
    state.selected = null;
    state.detail = null;
    renderAll();
  }

  for (const s of config.statuses)
    statusSelect.appendChild(h('option', { value: s.name, text: s.name + ' (' + s.value + ')' }));
  byId('key-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = byId<HTMLInputElement>('key-input');
    sessionStorage.setItem(KEY, input.value);
    input.value = '';
    byId('key-overlay').classList.remove('show');
    void refresh();
  });
  byId('filters').addEventListener('submit', (e) => {
    e.preventDefault();
    applyFilters();
  });
  statusSelect.addEventListener('change', applyFilters);
  byId('clear').addEventListener('click', () => {
    statusSelect.value = '';
    typeInput.value = '';
    workerInput.value = '';
    applyFilters();
  });
  byId('next').addEventListener('click', () => {
    if (!state.nextCursor) return;
    state.cursors[state.page + 1] = state.nextCursor;
    state.page++;
    void refresh();
  });
  byId('prev').addEventListener('click', () => {
    if (state.page === 0) return;
    state.page--;
    void refresh();
  });
  byId('close-detail').addEventListener('click', closeDetail);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') closeDetail();
  });
  byId('pause').addEventListener('click', () => {
    state.paused = !state.paused;
    byId('pause').textContent = state.paused ? 'Resume' : 'Pause';
    renderLive();
  });
  if (!sessionStorage.getItem(KEY)) showKeyPrompt(false);
  void loop();
}
