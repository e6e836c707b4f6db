import type { Logger } from '../log/logger.js';
import type { AdminContext, AdminRequest, AdminResponse } from './types.js';

export interface ResolvedOptions {
  auth: 'key' | 'platform';
  basePath: string;
  workerStaleAfterMs: number;
  reclaimerStaleAfterMs: number | undefined;
  dependencyTimeoutMs: number;
  maxBodyBytes: number;
  maxTaskBytes: number;
}

export interface RouteInput {
  req: AdminRequest;
  /** Decoded path parameters, by the names in the route's template. */
  params: Record<string, string>;
  ctx: AdminContext;
  options: ResolvedOptions;
  logger: Logger;
  now: Date;
}

export interface Route {
  method: 'GET' | 'POST';
  /** Template after the prefix, with {name} parameters: "/tasks/{id}/cancel". */
  path: string;
  handle(input: RouteInput): Promise<AdminResponse>;
}

/** A template as a matcher: each {name} matches one non-empty segment. */
export function compilePath(template: string): { regex: RegExp; names: string[] } {
  const names: string[] = [];
  const source = template
    .split('/')
    .map((seg) => {
      const m = /^\{(\w+)\}$/.exec(seg);
      if (!m) return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(m[1]!);
      return '([^/]+)';
    })
    .join('/');
  return { regex: new RegExp(`^${source}$`), names };
}
