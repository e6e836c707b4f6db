import type { AdminResponse } from '../types.js';
import { dashboardScript, signInScript } from './script.js';
import { dashboardCss } from './styles.js';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Only the page's own nonce-tagged script and style run; data is fetched from this origin only; the
 * page cannot be framed. The key sits in the URL once (?code=), so no referrer is ever sent.
 */
function securityHeaders(nonce: string): Record<string, string> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': [
      "default-src 'none'",
      `script-src 'nonce-${nonce}'`,
      `style-src 'nonce-${nonce}'`,
      "connect-src 'self'",
      "img-src 'self' data:",
      "base-uri 'none'",
      "form-action 'self'",
      "frame-ancestors 'none'",
    ].join('; '),
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  };
}

export function dashboardPage(opts: { nonce: string; basePath: string }): AdminResponse {
  const n = escapeHtml(opts.nonce);
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>taskmesh · dashboard</title>
<link rel="icon" href="data:,">
<style nonce="${n}">${dashboardCss}</style>
</head>
<body data-base="${escapeHtml(opts.basePath)}">
<header class="top">
  <div class="brand"><span class="logo"></span>taskmesh <small>operations</small></div>
  <span id="health" class="pill" data-testid="health">…</span>
  <span id="reclaimer" class="muted"></span>
  <div class="spacer"></div>
  <span id="updated" class="muted"></span>
  <span id="live" class="pill live" data-testid="live"><span class="dot"></span>Connecting</span>
  <button id="pause" class="small ghost" type="button">Pause</button>
</header>
<main>
  <div id="banner" class="banner" role="alert"></div>
  <section id="counts" class="cards" aria-label="Tasks by status"></section>
  <div class="grid-2">
    <section class="panel"><h2>Throughput · last hour</h2><div class="body chart" id="chart"></div></section>
    <section class="panel"><h2>Rates</h2><div class="body rates" id="rates"></div></section>
  </div>
  <div class="grid-even">
    <section class="panel"><h2>Workers <span class="count" id="workers-count">0</span></h2>
      <div class="table-wrap"><table><thead><tr><th>Worker</th><th>State</th><th class="num">Heartbeat</th>
        <th class="num">Tasks</th><th class="num">Processed</th><th>Host</th></tr></thead>
      <tbody id="workers"></tbody></table></div></section>
    <section class="panel"><h2>Queues <span class="count" id="queues-count">0</span></h2>
      <div class="table-wrap"><table><thead><tr><th>Provider</th><th>Queue</th><th class="num">Depth</th>
        <th class="num">Dead letters</th><th class="num">Oldest</th><th>Status</th><th></th></tr></thead>
      <tbody id="queues"></tbody></table></div></section>
  </div>
  <section class="panel" data-testid="blocked-keys-panel"><h2>Blocked ordering keys <span class="count" id="blocked-count">0</span></h2>
    <div class="table-wrap"><table><thead><tr><th>Key</th><th>Failed task</th><th class="num">Tasks so far</th>
      <th>Since</th><th></th></tr></thead>
    <tbody id="blocked-keys" data-testid="blocked-keys"></tbody></table></div></section>
  <section class="panel">
    <h2>Tasks</h2>
    <form id="filters" class="filters" autocomplete="off">
      <label>Status <select id="f-status" data-testid="filter-status"><option value="">Any</option></select></label>
      <label>Type <input id="f-type" placeholder="e.g. email.send" size="16"></label>
      <label>Worker <input id="f-worker" placeholder="worker id" size="20"></label>
      <button type="submit" class="small primary">Apply</button>
      <button type="button" id="clear" class="small ghost">Clear</button>
    </form>
    <div class="table-wrap"><table>
      <thead><tr><th>Id</th><th>Type</th><th>Status</th><th class="num">Attempts</th><th>Worker</th>
        <th>Created</th><th>Updated</th><th>Last error</th></tr></thead>
      <tbody id="tasks" data-testid="task-rows"></tbody>
    </table></div>
    <div class="pager"><span id="page-info">Page 1</span>
      <button id="prev" class="small" type="button" disabled>← Newer</button>
      <button id="next" class="small" type="button" disabled>Older →</button></div>
  </section>
</main>
<aside id="detail" class="drawer" aria-label="Task detail" data-testid="task-detail">
  <div class="drawer-head">
    <div class="spacer"><h3 id="detail-title">Task</h3><div id="detail-sub"></div></div>
    <div id="detail-actions" class="actions"></div>
    <button id="close-detail" class="small ghost" type="button" aria-label="Close">✕</button>
  </div>
  <div id="detail-body" class="drawer-body"></div>
</aside>
<div id="toasts" class="toasts"></div>
<div id="key-overlay" class="overlay">
  <form id="key-form" class="login">
    <h1>Admin key</h1>
    <p>The dashboard needs the admin key (Admin__ApiKey). It is kept for this browser tab only.</p>
    <p id="key-error" class="error"></p>
    <input id="key-input" type="password" placeholder="x-functions-key" autocomplete="off" required>
    <button class="primary" type="submit">Continue</button>
  </form>
</div>
<script nonce="${n}">${dashboardScript()}</script>
</body>
</html>`;
  return { status: 200, headers: securityHeaders(opts.nonce), body: html };
}

/** What an unauthenticated GET /dashboard gets: a form for the key, nothing else. */
export function loginPage(opts: { nonce: string; invalid: boolean }): AdminResponse {
  const n = escapeHtml(opts.nonce);
  const script = signInScript(opts.invalid);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>taskmesh · sign in</title><link rel="icon" href="data:,"><style nonce="${n}">${dashboardCss}</style></head>
<body><div class="overlay show">
<form class="login" method="get">
  <h1>taskmesh dashboard</h1>
  <p>Enter the admin key (Admin__ApiKey) to continue.</p>
  ${opts.invalid ? '<p class="error" data-testid="login-error">That key was not accepted.</p>' : ''}
  <input name="code" type="password" placeholder="admin key" autocomplete="off" required autofocus>
  <button class="primary" type="submit">Open dashboard</button>
</form></div>
<script nonce="${n}">${script}</script>
</body></html>`;
  return { status: 401, headers: securityHeaders(opts.nonce), body: html };
}
