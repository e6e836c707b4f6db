import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/index.js';
import { createAdminServer, type AdminServer } from '../../lib/admin/node-http.js';
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { HandlerRegistry, builtinHandlers } from '../../lib/handlers/index.js';
import { Worker } from '../../lib/worker/index.js';
import { WorkerRegistry } from '../../lib/worker-registry/index.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { API_KEY, FakeQueue } from './support.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts/dashboard');
const UI_TIMEOUT = 60_000;

if (!hasChromium) {
  console.warn(
    `dashboard e2e skipped: ${CHROMIUM} is absent (install it with: apt-get update && apt-get install -y chromium)`,
  );
}

describe.skipIf(!hasChromium)(
  `dashboard in headless Chromium${hasChromium ? '' : ` (skipped: ${CHROMIUM} absent)`}`,
  () => {
    let tdb: TestDb;
    let store: MongoTaskStore;
    let worker: Worker;
    let server: AdminServer;
    let browser: Browser;
    let page: Page;
    const pageErrors: string[] = [];

    const shot = (name: string) => page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
    const row = (id: string) => page.locator(`tr[data-task-id="${id}"]`);

    beforeAll(async () => {
      mkdirSync(ARTIFACTS, { recursive: true });
      tdb = await openTestDb('dash');
      store = new MongoTaskStore(tdb.db, { maxRetries: 0 });
      await store.ensureIndexes();
      const registry = new WorkerRegistry(tdb.db);
      await registry.ensureIndexes();
      // The real worker, polling the test database, with the built-in echo/sleep/fail handlers.
      const settings = loadConfig({
        env: {},
        overrides: { Worker: { PollingInterval: 200, HeartbeatInterval: 300, BatchSize: 4, ShutdownTimeout: 2_000 } },
      }).Worker;
      worker = new Worker({ store, handlers: new HandlerRegistry(builtinHandlers()), settings, registry }).start();
      const queue = new FakeQueue('storage-queue', 'tasks');
      queue.addDeadLetters(2);
      server = await createAdminServer(
        { store, workers: new WorkerRegistry(tdb.db), queues: [queue], apiKey: API_KEY },
        { port: 0 },
      );
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
      page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
      page.setDefaultTimeout(UI_TIMEOUT);
      page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
      });
    });

    afterAll(async () => {
      await browser?.close();
      await worker?.stop('stopped', { timeoutMs: 2_000 });
      await server?.close();
      await tdb?.drop();
    });

    it('loads with the key from ?code=, keeps it in sessionStorage and drops it from the address bar', async () => {
      await page.goto(`${server.url}/dashboard?code=${encodeURIComponent(API_KEY)}`);
      await expect.poll(() => page.url()).not.toContain('code=');
      expect(await page.evaluate<string | null>("sessionStorage.getItem('taskmesh.adminKey')")).toBe(API_KEY);
      await page.locator('[data-testid="health"]', { hasText: 'Healthy' }).waitFor();
      await page.locator('[data-testid="live"]', { hasText: 'Live' }).waitFor();
      // The worker's registry record (its heartbeat age shown), and the queue with its dead letters.
      await page.locator(`tr[data-worker-id="${worker.id}"]`).waitFor();
      await page.locator('#queues td', { hasText: 'storage-queue' }).waitFor();
      await shot('01-loaded');
    });

    it('names the statuses as JobTaskStatus does: the filter lists each with its number, each card is one', async () => {
      const options = await page
        .getByTestId('filter-status')
        .locator('option')
        .evaluateAll((els) => els.map((o) => [o.getAttribute('value'), o.textContent]));
      const table = Object.entries(S).map(([name, value]) => [name, `${name} (${value})`]);
      expect(options).toEqual([['', 'Any'], ...table]);
      await page.getByTestId('count-total').waitFor();
      const cards = await page
        .locator('#counts [data-testid^="count-"]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')!.slice('count-'.length)));
      expect(cards.at(-1)).toBe('total');
      expect(cards.length).toBeGreaterThan(1);
      expect(cards.slice(0, -1).filter((name) => !(name in S))).toEqual([]);
    });

    it('shows a task appear and finish, live, without a reload', async () => {
      const navigations: string[] = [];
      page.on('framenavigated', (f) => navigations.push(f.url()));
      const { items } = await store.ingest([{ type: 'echo', payload: { hello: 'dashboard' } }]);
      const id = items[0]!.taskId;
      await row(id).waitFor();
      await page.locator(`tr[data-task-id="${id}"][data-status="Succeeded"]`).waitFor();
      await expect
        .poll(async () => Number((await page.getByTestId('count-Succeeded').textContent())?.replace(/\D/g, '') ?? 0), {
          timeout: UI_TIMEOUT,
        })
        .toBeGreaterThanOrEqual(1);
      // The throughput chart has a succeeded bar.
      await page.locator('#chart rect.bar-s').first().waitFor();
      expect(navigations).toEqual([]);
      await shot('02-task-succeeded');
    });

    it('cancels a running task from its detail view; the worker stops it and the database says Cancelled', async () => {
      const { items } = await store.ingest([{ type: 'sleep', payload: { ms: 600_000 } }]);
      const id = items[0]!.taskId;
      await page.locator(`tr[data-task-id="${id}"][data-status="Running"]`).waitFor();
      await row(id).click();
      const detail = page.getByTestId('task-detail');
      await detail.locator('[data-testid="detail-status"]', { hasText: 'Running' }).waitFor();
      await detail.getByTestId('detail-history').getByText('Running').first().waitFor();
      await shot('03-running-detail');
      const cancel = detail.getByTestId('cancel-btn');
      await cancel.click();
      await detail.getByText('Confirm cancel').click();
      await detail.locator('[data-testid="detail-status"]', { hasText: 'Cancelled' }).waitFor();
      await shot('04-cancelled');

      const task = (await store.get(id))!;
      expect(task.status).toBe(S.Cancelled);
      expect(task.cancelRequested).toBe(true);
      const path = task.history.map((h) => h.to);
      expect(path.at(-1)).toBe(S.Cancelled);
      expect(path.lastIndexOf(S.Running)).toBe(path.length - 2);
    });

    it('shows a failed task with its error and stack trace, and retries it', async () => {
      const { items } = await store.ingest([
        { type: 'fail', payload: { times: 1, message: 'planned dashboard failure' }, maxRetries: 0 },
      ]);
      const id = items[0]!.taskId;
      await page.locator(`tr[data-task-id="${id}"][data-status="Error"]`).waitFor();
      await page.keyboard.press('Escape');
      await row(id).click();
      const detail = page.getByTestId('task-detail');
      await detail.getByTestId('detail-errors').locator('.msg', { hasText: 'planned dashboard failure' }).waitFor();
      await detail.getByTestId('detail-errors').getByText('Stack trace').click();
      await shot('05-error-detail');
      await detail.getByTestId('retry-btn').click();
      // The retry gives it another attempt; the handler succeeds on attempt 2.
      await detail.locator('[data-testid="detail-status"]', { hasText: 'Succeeded' }).waitFor();
      const task = (await store.get(id))!;
      expect(task.status).toBe(S.Succeeded);
      expect(task.history.some((h) => h.to === S.Retrying && h.reason === 'retried by operator')).toBe(true);
      await shot('06-retried-succeeded');
    });

    it('lists a blocked ordering key with its failed task and unblocks it; the next task of the key runs', async () => {
      const blocking = new MongoTaskStore(tdb.db, { maxRetries: 0, orderingOnFailure: 'block' });
      const { items } = await blocking.ingest([
        { type: 'manual', orderingKey: 'dash-key', payload: null },
        { type: 'echo', orderingKey: 'dash-key', payload: { after: 'unblock' } },
      ]);
      // No handler runs "manual": this test is its worker, and fails it for good.
      const [head] = await blocking.claim('w-dash', { types: ['manual'] });
      await blocking.start(head!.lease);
      await blocking.fail(head!.lease, { message: 'planned failure' }, { retryable: false });
      await page.keyboard.press('Escape');
      const keyRow = page.locator('#blocked-keys tr[data-key="dash-key"]');
      await keyRow.getByText(items[0]!.taskId).waitFor();
      await shot('07-blocked-key');
      expect(await store.get(items[1]!.taskId)).toMatchObject({ status: S.Queued, held: true });
      await keyRow.getByRole('button').click();
      await keyRow.getByRole('button', { name: 'Skip the failed task?' }).click();
      await page.getByTestId('blocked-keys').getByText('No blocked keys').waitFor();
      await expect
        .poll(async () => (await store.get(items[1]!.taskId))?.status, { timeout: UI_TIMEOUT })
        .toBe(S.Succeeded);
    });

    it('filters the list by status and closes the detail view', async () => {
      await page.keyboard.press('Escape');
      await page.getByTestId('filter-status').selectOption('Cancelled');
      await expect
        .poll(
          async () =>
            page
              .locator('#tasks tr[data-task-id]')
              .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status'))),
          { timeout: UI_TIMEOUT },
        )
        .toEqual(['Cancelled']);
      await shot('08-filtered');
    });

    it('raised no script error and no CSP violation', () => {
      expect(pageErrors, pageErrors.join('\n')).toEqual([]);
    });
  },
);
