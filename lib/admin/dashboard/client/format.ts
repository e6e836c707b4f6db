/// <reference lib="dom" />
/** Text formats of the dashboard's browser script (self-contained, see dom.ts). */

export function formatKit() {
  /** A duration, e.g. "0.4s", "12s", "3m 5s", "2h 10m", "1d 4h"; "—" when unknown. */
  function age(ms: number | null | undefined): string {
    if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
    ms = Math.max(0, ms);
    if (ms < 1000) return (ms / 1000).toFixed(1) + 's';
    const s = Math.floor(ms / 1000);
    if (s < 60) return s + 's';
    const m = Math.floor(s / 60);
    if (m < 60) return m + 'm ' + (s % 60) + 's';
    const hr = Math.floor(m / 60);
    if (hr < 24) return hr + 'h ' + (m % 60) + 'm';
    return Math.floor(hr / 24) + 'd ' + (hr % 24) + 'h';
  }

  function ago(iso: string | null | undefined): string {
    return iso ? age(Date.now() - new Date(iso).getTime()) + ' ago' : '—';
  }

  /** Local time, with the date when it is not today. */
  function time(iso: string | null | undefined): string {
    if (!iso) return '—';
    const d = new Date(iso);
    const today = new Date().toDateString() === d.toDateString();
    return (today ? '' : d.toLocaleDateString() + ' ') + d.toLocaleTimeString();
  }

  function pct(x: number | null | undefined): string {
    return x === null || x === undefined ? '—' : (x * 100).toFixed(x < 0.1 && x > 0 ? 1 : 0) + '%';
  }

  function short(id: string): string {
    return id.length > 12 ? id.slice(0, 12) + '…' : id;
  }

  return { age, ago, time, pct, short };
}
