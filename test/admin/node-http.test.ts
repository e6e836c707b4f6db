import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminServer, type AdminServer } from '../../lib/admin/node-http.js';
import { createAdminRouter } from '../../lib/admin/router.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { API_KEY, harness, type Harness } from './support.js';

describe('admin API over node:http', () => {
  let tdb: TestDb;
  let h: Harness;
  let server: AdminServer;

  beforeAll(async () => {
    tdb = await openTestDb('admin_http');
    h = harness(tdb.db);
    server = await createAdminServer(h.ctx, { port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await tdb.drop();
  });

  const get = (path: string, init: RequestInit = {}) =>
    fetch(`${server.url}${path}`, {
      ...init,
      headers: { 'x-functions-key': API_KEY, ...(init.headers as Record<string, string>) },
    });

  it('serves the router under /api with JSON and security headers', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api$/);
    const res = await get('/tasks');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({ items: [], nextCursor: null });
  });

  it('creates through POST and reads back, with repeated query parameters as lists', async () => {
    const created = await get('/tasks', {
      method: 'POST',
      body: JSON.stringify({ type: 'echo', idempotencyKey: 'http-1' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(created.status).toBe(201);
    const res = await get('/tasks?status=Queued&status=Running');
    expect(((await res.json()) as { items: unknown[] }).items).toHaveLength(1);
  });

  it('refuses without the key, and outside the prefix answers a problem 404', async () => {
    const res = await fetch(`${server.url}/tasks`);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const outside = await fetch(server.url.replace(/\/api$/, '/other'));
    expect(outside.status).toBe(404);
    const withCode = await fetch(`${server.url}/tasks?code=${encodeURIComponent(API_KEY)}`);
    expect(withCode.status).toBe(200);
  });

  it('refuses a body over the limit (413) without creating anything', async () => {
    const small = await createAdminServer(createAdminRouter(h.ctx), { port: 0, router: { maxBodyBytes: 100 } });
    try {
      const res = await fetch(`${small.url}/tasks`, {
        method: 'POST',
        headers: { 'x-functions-key': API_KEY, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'echo', payload: 'x'.repeat(500) }),
      });
      expect(res.status).toBe(413);
    } finally {
      await small.close();
    }
    expect(await tdb.db.collection('tasks').countDocuments({ payload: { $type: 'string' } })).toBe(0);
  });

  it('serves the dashboard page with a strict CSP and no third-party resources', async () => {
    const res = await fetch(`${server.url}/dashboard?code=${encodeURIComponent(API_KEY)}`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'nonce-[^']+'/);
    const html = await res.text();
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href="(?!data:)|https?:\/\/(?!www\.w3\.org)/);
    expect(html).not.toContain(API_KEY);
  });
});
