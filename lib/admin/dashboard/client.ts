/**
 * The dashboard's browser script, as text (plain ES2017, no build step). It polls the JSON routes
 * every 1.5 s and renders with DOM nodes (textContent only, never innerHTML), because task types,
 * payloads and errors come from producers and must not become markup.
 * Kept free of backquotes and dollar-brace so it can live in this template literal unchanged.
 */
export const dashboardJs = `
(function () {
  'use strict';
  var BASE = document.body.getAttribute('data-base') || '/api';
  var KEY = 'taskmesh.adminKey';
  var POLL_MS = 1500;
  var SVG = 'http://www.w3.org/2000/svg';
  var STATUSES = [['Pending',0],['Created',1],['Processing',10],['Completed',11],['Failed',12],['Queued',20],['Assigned',21],['Running',22],
    ['Succeeded',23],['Error',24],['Retrying',25],['Cancelled',26],['Timeout',27],['Archived',90],['Deleted',91]];
  var CARDS = ['Queued','Assigned','Running','Retrying','Succeeded','Error','Timeout','Cancelled','Failed'];
  var CANCELLABLE = [0,1,20,25,21,22];
  var RETRYABLE = [12,24,26,27];

  // The key arrives once as ?code=; it moves to sessionStorage and out of the address bar (and history).
  var params = new URLSearchParams(location.search);
  if (params.has('code')) {
    sessionStorage.setItem(KEY, params.get('code') || '');
    params.delete('code');
    var rest = params.toString();
    history.replaceState(null, '', location.pathname + (rest ? '?' + rest : '') + location.hash);
  }

  var state = { cursors: [null], page: 0, nextCursor: null, selected: null, detail: null, paused: false, busy: false,
    lastOk: 0, failing: false, confirm: {}, filters: { status: '', type: '', worker: '' } };

  function $(id) { return document.getElementById(id); }
  function h(tag, props) {
    var el = tag.indexOf('svg:') === 0 ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    if (props) Object.keys(props).forEach(function (k) {
      var v = props[k];
      if (v === null || v === undefined || v === false) return;
      if (k === 'text') el.textContent = String(v);
      else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    });
    for (var i = 2; i < arguments.length; i++) add(el, arguments[i]);
    return el;
  }
  function fill(el) {
    el.replaceChildren();
    for (var i = 1; i < arguments.length; i++) add(el, arguments[i]);
  }
  function add(el, c) {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) { c.forEach(function (x) { add(el, x); }); return; }
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  function age(ms) {
    if (ms === null || ms === undefined || isNaN(ms)) return '—';
    ms = Math.max(0, ms);
    if (ms < 1000) return (ms / 1000).toFixed(1) + 's';
    var s = Math.floor(ms / 1000);
    if (s < 60) return s + 's';
    var m = Math.floor(s / 60);
    if (m < 60) return m + 'm ' + (s % 60) + 's';
    var hr = Math.floor(m / 60);
    if (hr < 24) return hr + 'h ' + (m % 60) + 'm';
    return Math.floor(hr / 24) + 'd ' + (hr % 24) + 'h';
  }
  function ago(iso) { return iso ? age(Date.now() - new Date(iso).getTime()) + ' ago' : '—'; }
  function time(iso) {
    if (!iso) return '—';
    var d = new Date(iso);
    var today = new Date().toDateString() === d.toDateString();
    return (today ? '' : d.toLocaleDateString() + ' ') + d.toLocaleTimeString();
  }
  function pct(x) { return x === null || x === undefined ? '—' : (x * 100).toFixed(x < 0.1 && x > 0 ? 1 : 0) + '%'; }
  function short(id) { return id && id.length > 12 ? id.slice(0, 12) + '…' : id; }
  function badge(name, extraClass) { return h('span', { class: 'badge ' + (extraClass || 'st-' + name), text: name }); }
  function toast(msg, ok) {
    var t = h('div', { class: 'toast ' + (ok ? 'ok' : 'bad'), role: 'status', text: msg });
    $('toasts').appendChild(t);
    setTimeout(function () { t.remove(); }, 4000);
  }

  function api(method, path, body) {
    var headers = { accept: 'application/json', 'x-functions-key': sessionStorage.getItem(KEY) || '' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return fetch(BASE + path, { method: method, headers: headers, cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (res) {
        return res.text().then(function (text) {
          var data = null;
          try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
          if (res.status === 401) showKeyPrompt(true);
          return { ok: res.ok, status: res.status, data: data };
        });
      });
  }
  function problemText(r) { return (r.data && (r.data.detail || r.data.title)) || ('HTTP ' + r.status); }

  function showKeyPrompt(invalid) {
    $('key-error').textContent = invalid ? 'The admin key was refused. Enter it again.' : '';
    $('key-overlay').classList.add('show');
  }
  $('key-form').addEventListener('submit', function (e) {
    e.preventDefault();
    sessionStorage.setItem(KEY, $('key-input').value);
    $('key-input').value = '';
    $('key-overlay').classList.remove('show');
    refresh();
  });

  // ---- rendering ----
  function renderHealth(r) {
    var el = $('health');
    el.replaceChildren();
    if (!r || !r.data || !r.data.checks) { el.className = 'pill warn'; add(el, [h('span', { class: 'dot' }), 'Unknown']); return; }
    var healthy = r.data.status === 'healthy';
    el.className = 'pill ' + (healthy ? 'ok' : 'bad');
    var c = r.data.checks;
    var why = [];
    if (!c.database.ok) why.push('database: ' + (c.database.error || 'down'));
    c.queues.forEach(function (q) { if (!q.ok) why.push(q.provider + '/' + q.queue + ': ' + (q.error || 'unreachable')); });
    if (!c.reclaimer.ok) why.push('reclaimer stale');
    el.title = why.length ? why.join('\\n') : 'Database ' + (c.database.latencyMs !== undefined ? c.database.latencyMs + ' ms' : 'ok') +
      (c.reclaimer.configured ? '; reclaimer ran ' + (c.reclaimer.lastRunAt ? ago(c.reclaimer.lastRunAt) : 'never') : '');
    add(el, [h('span', { class: 'dot' }), healthy ? 'Healthy' : 'Unhealthy']);
    $('reclaimer').textContent = c.reclaimer.configured ? 'Reclaimer: ' + (c.reclaimer.lastRunAt ? ago(c.reclaimer.lastRunAt) : 'never ran') : '';
  }

  function renderCounts(stats) {
    var cards = CARDS.map(function (name) {
      return h('div', { class: 'card c-' + name, title: 'Show ' + name + ' tasks', onclick: function () { setStatusFilter(name); } },
        h('div', { class: 'label', text: name }),
        h('div', { class: 'value', 'data-testid': 'count-' + name, text: (stats.counts[name] || 0).toLocaleString() }));
    });
    cards.push(h('div', { class: 'card static c-total' }, h('div', { class: 'label', text: 'Total' }),
      h('div', { class: 'value', 'data-testid': 'count-total', text: stats.total.toLocaleString() })));
    cards.push(h('div', { class: 'card static c-age', title: 'Age of the oldest task waiting to be claimed' }, h('div', { class: 'label', text: 'Oldest waiting' }),
      h('div', { class: 'value', text: stats.oldestClaimableAgeMs === null ? '—' : age(stats.oldestClaimableAgeMs) })));
    $('counts').replaceChildren.apply($('counts'), cards);
  }

  function renderChart(stats) {
    var t = stats.throughput;
    var W = 720, H = 200, L = 34, B = 22, T = 10;
    var n = t.buckets.length || 1;
    var max = 1;
    t.buckets.forEach(function (b) { max = Math.max(max, b.succeeded + b.failed + b.cancelled); });
    var bw = (W - L) / n;
    var y = function (v) { return T + (H - T - B) * (1 - v / max); };
    var svg = h('svg:svg', { viewBox: '0 0 ' + W + ' ' + H, preserveAspectRatio: 'none', role: 'img', 'aria-label': 'Tasks finished per minute' });
    [0, Math.ceil(max / 2), max].forEach(function (v) {
      svg.appendChild(h('svg:line', { class: 'grid', x1: L, x2: W, y1: y(v), y2: y(v) }));
      svg.appendChild(h('svg:text', { class: 'axis', x: L - 6, y: y(v) + 4, 'text-anchor': 'end', text: v }));
    });
    t.buckets.forEach(function (b, i) {
      var x = L + i * bw + 1, w = Math.max(1, bw - 2), base = H - B;
      var g = h('svg:g', {});
      [['s', b.succeeded], ['f', b.failed], ['c', b.cancelled]].forEach(function (part) {
        if (!part[1]) return;
        var hgt = (H - T - B) * part[1] / max;
        base -= hgt;
        g.appendChild(h('svg:rect', { class: 'bar-' + part[0], x: x, y: base, width: w, height: hgt, rx: 1.5 }));
      });
      var hit = h('svg:rect', { class: 'hit', x: L + i * bw, y: T, width: bw, height: H - T - B });
      hit.appendChild(h('svg:title', { text: time(b.at) + ' — ' + b.succeeded + ' succeeded, ' + b.failed + ' failed, ' + b.cancelled + ' cancelled' + (b.retried ? ' (' + b.retried + ' retried)' : '') }));
      g.appendChild(hit);
      svg.appendChild(g);
    });
    var minutes = Math.round((new Date(t.until) - new Date(t.since)) / 60000);
    [[0, minutes + 'm ago', 'start'], [0.5, Math.round(minutes / 2) + 'm ago', 'middle'], [1, 'now', 'end']].forEach(function (a) {
      svg.appendChild(h('svg:text', { class: 'axis', x: L + (W - L) * a[0], y: H - 6, 'text-anchor': a[2], text: a[1] }));
    });
    $('chart').replaceChildren(svg, h('div', { class: 'legend' },
      h('span', {}, h('i', { class: 'bg-s' }), 'Succeeded ' + t.totals.succeeded),
      h('span', {}, h('i', { class: 'bg-f' }), 'Failed ' + t.totals.failed),
      h('span', {}, h('i', { class: 'bg-c' }), 'Cancelled ' + t.totals.cancelled),
      h('span', { text: (t.perMinute.succeeded + t.perMinute.failed).toFixed(2) + ' finished / min' })));
    $('rates').replaceChildren(
      rate('Succeeded / min', t.perMinute.succeeded.toFixed(2)),
      rate('Failed / min', t.perMinute.failed.toFixed(2)),
      rate('Failure rate', pct(stats.rates.failureRate)),
      rate('Retry rate', pct(stats.rates.retryRate)));
  }
  function rate(k, v) { return h('div', { class: 'rate' }, h('span', { class: 'k', text: k }), h('span', { class: 'v', text: v })); }

  function renderWorkers(r) {
    var items = (r.data && r.data.items) || [];
    $('workers-count').textContent = items.length;
    if (!items.length) { $('workers').replaceChildren(h('tr', {}, h('td', { colspan: 6, class: 'empty', text: 'No workers registered' }))); return; }
    $('workers').replaceChildren.apply($('workers'), items.map(function (w) {
      var host = w.host ? (w.host.podName || w.host.hostname || '') + (w.host.runtime ? ' · ' + w.host.runtime : '') : '';
      return h('tr', { 'data-worker-id': w.id },
        h('td', { class: 'mono', title: w.id, text: w.id.length > 34 ? w.id.slice(0, 34) + '…' : w.id }),
        h('td', {}, badge(w.state, 'ws-' + w.state), w.stale ? h('span', { class: 'tag', text: 'stale' }) : null),
        h('td', { class: 'num' + (w.stale ? ' err' : ''), text: age(w.heartbeatAgeMs) }),
        h('td', { class: 'num', title: w.currentTaskIds.join('\\n'), text: w.currentTasks + ' / ' + w.concurrency }),
        h('td', { class: 'num', text: w.processed === null ? '—' : w.processed }),
        h('td', { class: 'muted', text: host }));
    }));
  }

  function renderQueues(r) {
    var items = (r.data && r.data.items) || [];
    $('queues-count').textContent = items.length;
    if (!items.length) { $('queues').replaceChildren(h('tr', {}, h('td', { colspan: 7, class: 'empty', text: 'No queue providers configured' }))); return; }
    $('queues').replaceChildren.apply($('queues'), items.map(function (q) {
      var key = 'replay:' + q.provider + ':' + q.queue;
      var num = function (v) { return v === null || v === undefined ? '—' : v.toLocaleString(); };
      return h('tr', {},
        h('td', { text: q.provider }),
        h('td', { class: 'mono', text: q.queue }),
        h('td', { class: 'num', text: num(q.depth) }),
        h('td', { class: 'num' + (q.deadLetterDepth ? ' err' : ''), text: num(q.deadLetterDepth) }),
        h('td', { class: 'num', text: q.oldestMessageAgeMs === null ? '—' : age(q.oldestMessageAgeMs) }),
        h('td', {}, q.reachable ? h('span', { class: 'pill ok', text: 'reachable' }) : h('span', { class: 'pill bad', title: q.error || '', text: 'unreachable' })),
        h('td', {}, confirmButton(key, 'Replay DLQ', 'Replay up to 100?', q.deadLetterDepth === 0, function () {
          return api('POST', '/queues/' + encodeURIComponent(q.queue) + '/dead-letters/replay', { provider: q.provider, max: 100 }).then(function (res) {
            if (res.ok) toast('Replayed ' + res.data.replayed + ' message(s)' + (res.data.failed ? ', ' + res.data.failed + ' failed' : ''), !res.data.failed);
            else toast('Replay failed: ' + problemText(res), false);
          });
        })));
    }));
  }

  // A destructive action takes two clicks; the armed state survives the re-render of the next poll.
  function confirmButton(key, label, confirmLabel, disabled, action, testid) {
    var armed = state.confirm[key] && state.confirm[key] > Date.now();
    return h('button', { class: 'small danger' + (armed ? ' confirm' : ''), disabled: disabled, 'data-testid': testid, text: armed ? confirmLabel : label,
      onclick: function (e) {
        e.stopPropagation();
        if (!(state.confirm[key] > Date.now())) { state.confirm[key] = Date.now() + 4000; renderAll(); return; }
        delete state.confirm[key];
        e.target.disabled = true;
        action().then(refresh);
      } });
  }

  // Re-render a section only when its data changed (or every 10 s, for the relative times), so rows
  // under the pointer stay the same elements between polls.
  var drawn = {};
  function changed(name, data) {
    var sig = JSON.stringify(data);
    var prev = drawn[name];
    if (prev && prev.sig === sig && Date.now() - prev.at < 10000) return false;
    drawn[name] = { sig: sig, at: Date.now() };
    return true;
  }

  function renderTasks(r) {
    if (!changed('tasks', [r.status, r.data, state.selected, state.page])) return;
    var body = $('tasks');
    if (!r.ok) { body.replaceChildren(h('tr', {}, h('td', { colspan: 8, class: 'empty', text: problemText(r) }))); return; }
    state.nextCursor = r.data.nextCursor;
    $('next').disabled = !state.nextCursor;
    $('prev').disabled = state.page === 0;
    $('page-info').textContent = 'Page ' + (state.page + 1);
    if (!r.data.items.length) { body.replaceChildren(h('tr', {}, h('td', { colspan: 8, class: 'empty', text: 'No tasks match' }))); return; }
    body.replaceChildren.apply(body, r.data.items.map(function (t) {
      return h('tr', { class: 'clickable' + (state.selected === t.id ? ' selected' : ''), 'data-task-id': t.id, 'data-status': t.statusName,
        onclick: function () { select(t.id); } },
        h('td', { class: 'mono', title: t.id, text: short(t.id) }),
        h('td', { text: t.type }),
        h('td', {}, badge(t.statusName), t.cancelRequested && CANCELLABLE.indexOf(t.status) >= 0 ? h('span', { class: 'tag', text: 'cancel requested' }) : null),
        h('td', { class: 'num', text: t.attempts + ' / ' + (t.maxRetries + 1) }),
        h('td', { class: 'mono muted', title: t.workerId || '', text: t.workerId ? short(t.workerId) : '—' }),
        h('td', { title: time(t.createdAt), text: ago(t.createdAt) }),
        h('td', { title: time(t.updatedAt), text: ago(t.updatedAt) }),
        h('td', { class: 'err', title: t.lastError || '', text: t.lastError || '' }));
    }));
  }

  function renderDetail() {
    var t = state.detail;
    var drawer = $('detail');
    if (!state.selected) { drawer.classList.remove('open'); return; }
    drawer.classList.add('open');
    if (!t) { drawn.detail = null; $('detail-body').replaceChildren(h('div', { class: 'empty', text: 'Loading…' })); return; }
    if (!changed('detail', [t, state.confirm])) return;
    var canCancel = CANCELLABLE.indexOf(t.status) >= 0 && !t.cancelRequested;
    var canRetry = RETRYABLE.indexOf(t.status) >= 0;
    $('detail-title').textContent = t.type;
    fill($('detail-sub'), h('span', { class: 'mono muted', text: t.id }), ' ',
      h('span', { class: 'badge st-' + t.statusName, 'data-testid': 'detail-status', 'data-status': t.status, text: t.statusName + ' (' + t.status + ')' }),
      t.cancelRequested && CANCELLABLE.indexOf(t.status) >= 0 ? h('span', { class: 'tag', text: 'cancel requested' }) : null);
    $('detail-actions').replaceChildren(
      confirmButton('cancel:' + t.id, 'Cancel task', 'Confirm cancel', !canCancel, function () {
        return api('POST', '/tasks/' + encodeURIComponent(t.id) + '/cancel', { reason: 'cancelled from the dashboard' }).then(function (res) {
          if (res.ok) toast(res.data.outcome === 'requested' ? 'Cancel requested; the worker will stop the task' : 'Task cancelled', true);
          else toast('Cancel failed: ' + problemText(res), false);
        });
      }, 'cancel-btn'),
      h('button', { class: 'small', disabled: !canRetry, 'data-testid': 'retry-btn', text: 'Retry', onclick: function (e) {
        e.target.disabled = true;
        api('POST', '/tasks/' + encodeURIComponent(t.id) + '/retry', { expectedVersion: t.version }).then(function (res) {
          if (res.ok) toast('Task sent back for another attempt', true);
          else toast('Retry failed: ' + problemText(res), false);
          refresh();
        });
      } }));
    var kv = h('dl', { class: 'kv' });
    [['Status', t.statusName + ' (' + t.status + ')'], ['Attempts', t.attempts + ' of ' + (t.maxRetries + 1)], ['Priority', t.priority],
      ['Worker', t.owner ? t.owner.workerId : '—'], ['Created', time(t.createdAt)], ['Started', time(t.startedAt)], ['Finished', time(t.finishedAt)],
      ['Next attempt', time(t.nextAttemptAt)], ['Heartbeat', t.heartbeatAt ? ago(t.heartbeatAt) : '—'], ['Version', t.version],
      ['Idempotency key', t.idempotencyKey], ['Source', t.source ? t.source.provider + ' / ' + t.source.queue + (t.source.messageId ? ' / ' + t.source.messageId : '') : '—'],
      ['Reason', t.reason || '—'], ['Trace', t.traceparent || '—']].forEach(function (row) {
      kv.appendChild(h('dt', { text: row[0] }));
      kv.appendChild(h('dd', { class: row[0] === 'Idempotency key' || row[0] === 'Trace' ? 'mono' : '', text: row[1] }));
    });
    var sections = [h('section', {}, h('h4', { text: 'Overview' }), kv),
      h('section', {}, h('h4', { text: 'Payload' }), h('pre', { text: JSON.stringify(t.payload, null, 2) }))];
    if (t.result !== null) sections.push(h('section', {}, h('h4', { text: 'Result' }), h('pre', { text: JSON.stringify(t.result, null, 2) })));
    if (t.progress !== null) sections.push(h('section', {}, h('h4', { text: 'Progress' }), h('pre', { text: JSON.stringify(t.progress, null, 2) })));
    sections.push(h('section', { 'data-testid': 'detail-errors' }, h('h4', { text: 'Errors (' + t.errors.length + ')' }),
      t.errors.length ? t.errors.slice().reverse().map(function (e) {
        return h('div', { class: 'error-item' },
          h('div', { class: 'msg', text: (e.kind ? e.kind + ': ' : '') + e.message }),
          h('div', { class: 'muted', text: 'attempt ' + e.attempt + (e.workerId ? ' · ' + e.workerId : '') + ' · ' + time(e.at) }),
          e.stack ? stackTrace(t.id + ':' + e.attempt + ':' + e.at, e.stack) : null);
      }) : h('div', { class: 'muted', text: 'None' })));
    sections.push(h('section', { 'data-testid': 'detail-history' }, h('h4', { text: 'History' }),
      h('ol', { class: 'timeline' }, t.history.slice().reverse().map(function (e, i, all) {
        // Some writes do not record the state they left; only the first entry is really "new".
        var from = e.fromName ? [badge(e.fromName), ' → '] : i === all.length - 1 ? [h('span', { class: 'muted', text: 'new' }), ' → '] : ['→ '];
        return h('li', {},
          h('div', {}, from, badge(e.toName), ' ',
            h('span', { class: 'muted mono', text: (e.from === null ? '' : e.from + '→') + e.to })),
          h('div', { class: 'when', text: time(e.at) + (e.by ? ' · by ' + e.by : '') + (e.reason ? ' · ' + e.reason : '') }));
      }))));
    $('detail-body').replaceChildren.apply($('detail-body'), sections);
  }

  // An opened stack trace stays open across re-renders.
  var openStacks = {};
  function stackTrace(key, stack) {
    var d = h('details', { open: !!openStacks[key] }, h('summary', { text: 'Stack trace' }), h('pre', { text: stack }));
    d.addEventListener('toggle', function () { openStacks[key] = d.open; });
    return d;
  }

  var last = {};
  function renderAll() {
    if (last.health) renderHealth(last.health);
    if (last.stats && last.stats.ok) { renderCounts(last.stats.data); renderChart(last.stats.data); }
    if (last.workers) renderWorkers(last.workers);
    if (last.queues) renderQueues(last.queues);
    if (last.tasks) renderTasks(last.tasks);
    renderDetail();
  }

  function taskQuery() {
    var q = new URLSearchParams();
    if (state.filters.status) q.set('status', state.filters.status);
    if (state.filters.type) q.set('type', state.filters.type);
    if (state.filters.worker) q.set('worker', state.filters.worker);
    q.set('limit', '25');
    var c = state.cursors[state.page];
    if (c) q.set('cursor', c);
    return '/tasks?' + q.toString();
  }

  function refresh() {
    if (state.busy) return Promise.resolve();
    state.busy = true;
    var calls = [api('GET', '/health'), api('GET', '/stats'), api('GET', '/workers'), api('GET', '/queues'), api('GET', taskQuery()),
      state.selected ? api('GET', '/tasks/' + encodeURIComponent(state.selected)) : Promise.resolve(null)];
    return Promise.all(calls).then(function (r) {
      last = { health: r[0], stats: r[1], workers: r[2], queues: r[3], tasks: r[4] };
      if (r[5]) state.detail = r[5].ok ? r[5].data : state.detail;
      state.lastOk = Date.now();
      state.failing = false;
      $('banner').classList.remove('show');
      renderAll();
    }).catch(function (e) {
      state.failing = true;
      $('banner').textContent = 'Cannot reach the admin API (' + (e && e.message ? e.message : 'network error') + '); retrying…';
      $('banner').classList.add('show');
    }).then(function () { state.busy = false; renderLive(); });
  }

  function renderLive() {
    var el = $('live');
    el.replaceChildren();
    if (state.paused) { el.className = 'pill warn'; add(el, [h('span', { class: 'dot' }), 'Paused']); return; }
    if (state.failing) { el.className = 'pill bad live'; add(el, [h('span', { class: 'dot' }), 'Reconnecting']); return; }
    el.className = 'pill ok live';
    add(el, [h('span', { class: 'dot' }), 'Live']);
    $('updated').textContent = state.lastOk ? 'updated ' + new Date(state.lastOk).toLocaleTimeString() : '';
  }

  function loop() {
    var go = !state.paused && !document.hidden ? refresh() : Promise.resolve();
    go.then(function () { setTimeout(loop, POLL_MS); });
  }

  function select(id) {
    if (state.selected !== id) state.detail = null;
    state.selected = id;
    renderAll();
    refresh();
  }
  function setStatusFilter(name) {
    $('f-status').value = name;
    applyFilters();
  }
  function applyFilters() {
    state.filters = { status: $('f-status').value, type: $('f-type').value.trim(), worker: $('f-worker').value.trim() };
    state.cursors = [null]; state.page = 0;
    refresh();
  }

  STATUSES.forEach(function (s) { $('f-status').appendChild(h('option', { value: s[0], text: s[0] + ' (' + s[1] + ')' })); });
  $('filters').addEventListener('submit', function (e) { e.preventDefault(); applyFilters(); });
  $('f-status').addEventListener('change', applyFilters);
  $('clear').addEventListener('click', function () { $('f-status').value = ''; $('f-type').value = ''; $('f-worker').value = ''; applyFilters(); });
  $('next').addEventListener('click', function () { if (!state.nextCursor) return; state.cursors[state.page + 1] = state.nextCursor; state.page++; refresh(); });
  $('prev').addEventListener('click', function () { if (state.page === 0) return; state.page--; refresh(); });
  $('close-detail').addEventListener('click', function () { state.selected = null; state.detail = null; renderAll(); });
  document.addEventListener('keydown', function (e) { if (e.key === 'Escape') { state.selected = null; state.detail = null; renderAll(); } });
  $('pause').addEventListener('click', function () {
    state.paused = !state.paused;
    $('pause').textContent = state.paused ? 'Resume' : 'Pause';
    renderLive();
  });
  if (!sessionStorage.getItem(KEY)) showKeyPrompt(false);
  loop();
})();
`;
