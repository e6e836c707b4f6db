/// <reference lib="dom" />
/** What the main script hands the renderers. Types only (see dom.ts). */
import type { domKit } from './dom.js';
import type { formatKit } from './format.js';
import type { ApiResult, ClientConfig, DashboardState } from './types.js';

export type Dom = ReturnType<typeof domKit>;
export type Format = ReturnType<typeof formatKit>;

/** What the renderers get from the main script. */
export interface App {
  config: ClientConfig;
  dom: Dom;
  format: Format;
  state: DashboardState;
  api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<ApiResult<T>>;
  problemText(r: { status: number; data: unknown }): string;
  refresh(): Promise<void>;
  renderAll(): void;
  select(id: string): void;
  setStatusFilter(name: string): void;
  /** A destructive action's button: the first click arms it, the second runs `action`. */
  confirmButton(
    key: string,
    label: string,
    confirmLabel: string,
    disabled: boolean,
    action: () => Promise<void>,
    testid?: string,
  ): HTMLButtonElement;
}
