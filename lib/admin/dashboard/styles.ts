/** The dashboard's stylesheet (served inline under the page's CSP nonce; no build step, no CDN). */
export const dashboardCss = `
:root {
  --bg: #0b1020; --panel: #111a2e; --panel-2: #162039; --border: #233052; --text: #e6ebf5; --muted: #8b97b3;
  --accent: #6ea8fe; --green: #34d399; --red: #f87171; --amber: #fbbf24; --blue: #60a5fa; --violet: #a78bfa;
  --grey: #94a3b8; --teal: #2dd4bf; --pink: #f472b6;
  --radius: 12px; --shadow: 0 1px 0 rgba(255,255,255,.03) inset, 0 8px 24px rgba(0,0,0,.25);
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
}
* { box-sizing: border-box; }
html, body { margin: 0; background: var(--bg); color: var(--text);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Ubuntu, sans-serif; }
a { color: var(--accent); }
header.top { position: sticky; top: 0; z-index: 5; display: flex; align-items: center; gap: 16px; padding: 12px 24px;
  background: rgba(11,16,32,.88); backdrop-filter: blur(8px); border-bottom: 1px solid var(--border); }
.brand { display: flex; align-items: center; gap: 10px; font-weight: 700; font-size: 17px; letter-spacing: .2px; }
.brand .logo { width: 26px; height: 26px; border-radius: 8px;
  background: conic-gradient(from 200deg, var(--accent), var(--violet), var(--teal), var(--accent)); }
.brand small { color: var(--muted); font-weight: 500; }
.spacer { flex: 1; }
.pill { display: inline-flex; align-items: center; gap: 6px; padding: 3px 10px; border-radius: 999px; font-size: 12px;
  font-weight: 600;
  border: 1px solid var(--border); background: var(--panel-2); color: var(--muted); white-space: nowrap; }
.pill.ok { color: var(--green); border-color: rgba(52,211,153,.35); background: rgba(52,211,153,.08); }
.pill.bad { color: var(--red); border-color: rgba(248,113,113,.4); background: rgba(248,113,113,.08); }
.pill.warn { color: var(--amber); border-color: rgba(251,191,36,.4); background: rgba(251,191,36,.08); }
.dot { width: 8px; height: 8px; border-radius: 50%; background: currentColor; }
.live .dot { animation: pulse 1.6s ease-in-out infinite; }
@keyframes pulse { 0%, 100% { opacity: 1; } 50% { opacity: .25; } }
button, select, input { font: inherit; color: var(--text); }
button { cursor: pointer; border: 1px solid var(--border); background: var(--panel-2); border-radius: 8px;
  padding: 6px 12px; font-weight: 600; }
button:hover:not(:disabled) { border-color: var(--accent); }
button:disabled { opacity: .45; cursor: not-allowed; }
button.primary { background: var(--accent); border-color: var(--accent); color: #0b1020; }
button.danger { color: var(--red); border-color: rgba(248,113,113,.45); }
button.danger.confirm { background: var(--red); color: #0b1020; }
button.ghost { background: transparent; }
button.small { padding: 3px 8px; font-size: 12px; }
input, select { background: var(--panel-2); border: 1px solid var(--border); border-radius: 8px; padding: 6px 10px;
  min-width: 0; }
input:focus, select:focus { outline: 2px solid rgba(110,168,254,.45); border-color: var(--accent); }
main { max-width: 1480px; margin: 0 auto; padding: 20px 24px 48px; display: grid; gap: 18px; }
.banner { display: none; padding: 10px 14px; border-radius: var(--radius); background: rgba(248,113,113,.1);
  border: 1px solid rgba(248,113,113,.4); color: var(--red); }
.banner.show { display: block; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(108px, 1fr)); gap: 12px; }
.card { background: var(--panel); border: 1px solid var(--border); border-radius: var(--radius); padding: 12px 14px;
  box-shadow: var(--shadow);
  position: relative; overflow: hidden; cursor: pointer; transition: transform .12s ease, border-color .12s ease; }
.card:hover { transform: translateY(-1px); border-color: var(--accent); }
.card::before { content: ""; position: absolute; inset: 0 auto 0 0; width: 3px; background: var(--c, var(--grey)); }
.card .label { color: var(--muted); font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: .5px;
  }
.card .value { font-size: 26px; font-weight: 700; font-variant-numeric: tabular-nums; margin-top: 2px; }
.card.static { cursor: default; }
.card.static:hover { transform: none; border-color: var(--border); }
.grid-2 { display: grid; grid-template-columns: minmax(0, 2fr) minmax(0, 1fr); gap: 18px; }
.grid-even { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 18px; }
@media (max-width: 1000px) { .grid-2, .grid-even { grid-template-columns: minmax(0, 1fr); } }
.panel { background: var(--panel); border: 1px solid var(--border); border-radius: var(--radius);
  box-shadow: var(--shadow); min-width: 0; }
.panel > h2 { margin: 0; padding: 12px 16px; font-size: 13px; text-transform: uppercase; letter-spacing: .6px;
  color: var(--muted);
  border-bottom: 1px solid var(--border); display: flex; align-items: center; gap: 10px; }
.panel > h2 .count { color: var(--text); background: var(--panel-2); border-radius: 999px; padding: 0 8px;
  font-size: 12px; }
.panel .body { padding: 12px 16px; }
.chart svg { width: 100%; height: 200px; display: block; }
.chart .legend { display: flex; gap: 16px; flex-wrap: wrap; color: var(--muted); font-size: 12px; margin-top: 8px; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 3px; margin-right: 6px;
  vertical-align: -1px; }
.bar-s { fill: var(--green); } .bar-f { fill: var(--red); } .bar-c { fill: var(--grey); }
.bg-s { background: var(--green); } .bg-f { background: var(--red); } .bg-c { background: var(--grey); }
svg .grid { stroke: var(--border); stroke-width: 1; }
svg .axis { fill: var(--muted); font-size: 11px; }
svg .hit { fill: transparent; }
svg .hit:hover { fill: rgba(110,168,254,.08); }
.rates { display: grid; gap: 10px; }
.rate { display: flex; justify-content: space-between; align-items: baseline; padding: 10px 12px;
  background: var(--panel-2); border-radius: 10px; }
.rate .k { color: var(--muted); }
.rate .v { font-size: 20px; font-weight: 700; font-variant-numeric: tabular-nums; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid var(--border); white-space: nowrap; }
th { color: var(--muted); font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: .4px; }
tbody tr:last-child td { border-bottom: 0; }
tbody tr.clickable { cursor: pointer; }
tbody tr.clickable:hover { background: rgba(110,168,254,.06); }
tbody tr.selected { background: rgba(110,168,254,.12); }
td.num { font-variant-numeric: tabular-nums; text-align: right; } th.num { text-align: right; }
td.err { color: var(--red); max-width: 280px; overflow: hidden; text-overflow: ellipsis; }
.table-wrap { overflow-x: auto; }
.mono { font-family: var(--mono); font-size: 12.5px; }
.muted { color: var(--muted); }
.empty { color: var(--muted); text-align: center; padding: 22px; }
.badge { display: inline-block; padding: 2px 8px; border-radius: 999px; font-size: 12px; font-weight: 600;
  border: 1px solid currentColor; line-height: 1.4; }
.st-Pending, .st-Created, .st-Processing, .st-Completed { color: var(--teal); }
.st-Queued { color: var(--blue); } .st-Assigned { color: var(--violet); } .st-Running { color: var(--amber); }
.st-Succeeded { color: var(--green); } .st-Error, .st-Failed { color: var(--red); } .st-Retrying { color: var(--pink); }
.st-Cancelled, .st-Archived, .st-Deleted { color: var(--grey); } .st-Timeout { color: #fb923c; }
.ws-idle { color: var(--blue); } .ws-busy { color: var(--amber); } .ws-starting, .ws-draining { color: var(--violet); }
.ws-stopped { color: var(--grey); } .ws-dead, .ws-stale { color: var(--red); }
.c-Queued { --c: var(--blue); } .c-Assigned { --c: var(--violet); } .c-Running { --c: var(--amber);
  } .c-Retrying { --c: var(--pink); }
.c-Succeeded { --c: var(--green); } .c-Error, .c-Failed { --c: var(--red); } .c-Timeout { --c: #fb923c;
  } .c-Cancelled { --c: var(--grey); }
.c-total { --c: var(--accent); } .c-age { --c: var(--teal); } .c-unserved { --c: var(--red, #c0392b); }
.filters { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; padding: 12px 16px;
  border-bottom: 1px solid var(--border); }
.filters label { color: var(--muted); font-size: 12px; display: flex; align-items: center; gap: 6px; }
.pager { display: flex; gap: 8px; align-items: center; justify-content: flex-end; padding: 10px 16px;
  border-top: 1px solid var(--border); color: var(--muted); }
.tag { font-size: 11px; color: var(--amber); margin-left: 6px; }
aside.drawer { position: fixed; top: 0; right: 0; bottom: 0; width: min(720px, 100vw); background: var(--panel);
  border-left: 1px solid var(--border);
  box-shadow: -20px 0 40px rgba(0,0,0,.4); transform: translateX(100%); transition: transform .18s ease; z-index: 10;
  display: flex; flex-direction: column; }
aside.drawer.open { transform: none; }
.drawer-head { padding: 16px 20px; border-bottom: 1px solid var(--border); display: flex; gap: 12px;
  align-items: flex-start; }
.drawer-head h3 { margin: 0 0 4px; font-size: 18px; }
.drawer-body { padding: 16px 20px 40px; overflow-y: auto; display: grid; gap: 18px; }
.actions { display: flex; gap: 8px; flex-wrap: wrap; }
.kv { display: grid; grid-template-columns: 140px minmax(0, 1fr); gap: 6px 14px; }
.kv dt { color: var(--muted); } .kv dd { margin: 0; overflow-wrap: anywhere; }
h4 { margin: 0 0 8px; font-size: 12px; text-transform: uppercase; letter-spacing: .6px; color: var(--muted); }
pre { margin: 0; padding: 12px; background: #0a0f1d; border: 1px solid var(--border); border-radius: 10px;
  overflow: auto; max-height: 320px;
  font-family: var(--mono); font-size: 12px; line-height: 1.5; white-space: pre-wrap; overflow-wrap: anywhere; }
.error-item { border: 1px solid rgba(248,113,113,.35); border-radius: 10px; padding: 10px 12px;
  background: rgba(248,113,113,.05); display: grid; gap: 6px; }
.error-item .msg { color: var(--red); font-weight: 600; overflow-wrap: anywhere; }
details summary { cursor: pointer; color: var(--muted); }
.timeline { list-style: none; margin: 0; padding: 0 0 0 14px; border-left: 2px solid var(--border); display: grid;
  gap: 10px; }
.timeline li { position: relative; }
.timeline li::before { content: ""; position: absolute; left: -20px; top: 6px; width: 10px; height: 10px;
  border-radius: 50%; background: var(--panel); border: 2px solid var(--accent); }
.timeline .when { color: var(--muted); font-size: 12px; }
.toasts { position: fixed; bottom: 20px; left: 50%; transform: translateX(-50%); display: grid; gap: 8px; z-index: 20; }
.toast { padding: 10px 16px; border-radius: 10px; background: var(--panel-2); border: 1px solid var(--border);
  box-shadow: var(--shadow); }
.toast.ok { border-color: rgba(52,211,153,.5); } .toast.bad { border-color: rgba(248,113,113,.6); color: var(--red); }
.overlay { position: fixed; inset: 0; background: rgba(5,8,16,.75); display: none; align-items: center;
  justify-content: center; z-index: 30; }
.overlay.show { display: flex; }
.login { background: var(--panel); border: 1px solid var(--border); border-radius: 16px; padding: 28px;
  width: min(420px, 92vw); box-shadow: var(--shadow); display: grid; gap: 14px; }
.login h1 { margin: 0; font-size: 20px; }
.login p { margin: 0; color: var(--muted); }
.login .error { color: var(--red); }
.login input { width: 100%; }
`;
