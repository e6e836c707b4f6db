import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalescing, databaseChannel, ensureWakeIndexes, inProcessChannel, type WakeUp } from '../../lib/wake/index.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { waitFor } from '../worker/helpers.js';

let t: TestDb;
beforeAll(async () => {
  t = await openTestDb('wake');
  await ensureWakeIndexes(t.db);
});
afterAll(async () => {
  await t.drop();
});

describe('in-process channel', () => {
  it('delivers at once, and a delayed wake-up not before its time', async () => {
    const c = inProcessChannel();
    const heard: { count: number; at: number }[] = [];
    c.subscribe((w) => heard.push({ count: w.count, at: Date.now() }));
    await c.announce({ count: 2 });
    expect(heard.map((h) => h.count)).toEqual([2]);
    const due = new Date(Date.now() + 150);
    await c.announce({ count: 3, at: due });
    await waitFor(() => heard.length === 2, 'the delayed wake-up');
    expect(heard[1]!.count).toBe(3);
    expect(heard[1]!.at).toBeGreaterThanOrEqual(due.getTime());
    await c.close();
  });
});

describe('coalescing', () => {
  it('bounds announcements per second and keeps the counts', async () => {
    const sent: WakeUp[] = [];
    const c = coalescing({ announce: async (w) => void sent.push(w) }, { perSecond: 5 });
    for (let i = 0; i < 100; i++) await c.announce({ count: 1 });
    // Within the budget each passes at once; the rest merged into what follows.
    expect(sent.length).toBe(5);
    await c.flush();
    expect(sent.length).toBeLessThan(10);
    expect(sent.reduce((n, w) => n + w.count, 0)).toBe(100);
  });

  it('rounds a delayed wake-up up to its slot, never earlier', async () => {
    const sent: WakeUp[] = [];
    const c = coalescing({ announce: async (w) => void sent.push(w) }, { perSecond: 1, slotMs: 1_000 });
    await c.announce({ count: 1 }); // spends the budget
    const at = Date.now() + 10_000;
    for (let i = 0; i < 10; i++) await c.announce({ count: 1, at: new Date(at + i) });
    await c.flush();
    const delayed = sent.filter((w) => w.at);
    expect(delayed.reduce((n, w) => n + w.count, 0)).toBe(10);
    for (const w of delayed) expect(w.at!.getTime()).toBeGreaterThanOrEqual(at);
  });
});

describe('database channel', () => {
  it('carries wake-ups between processes (two channels with different origins), not back to their sender', async () => {
    const a = databaseChannel(t.db, { origin: 'a', changeStreams: 'off', pollMs: 10 });
    const b = databaseChannel(t.db, { origin: 'b', changeStreams: 'off', pollMs: 10 });
    const heardA: number[] = [];
    const heardB: number[] = [];
    a.subscribe((w) => heardA.push(w.count));
    b.subscribe((w) => heardB.push(w.count));
    await sleep(100); // both have read the counter: they hear what comes after it
    await a.announce({ count: 4 });
    await waitFor(() => heardB.includes(4), 'b hears a');
    const due = Date.now() + 200;
    await a.announce({ count: 7, at: new Date(due) });
    await waitFor(() => heardB.includes(7), 'b hears the delayed one');
    expect(Date.now()).toBeGreaterThanOrEqual(due);
    expect(heardA).toEqual([]);
    const docs = await t.db.collection('wake_signals').find().toArray();
    expect(docs.every((d) => d.expiresAt instanceof Date)).toBe(true);
    await a.close();
    await b.close();
  });

  it('does not read while no listener wants work, and catches up when one does', async () => {
    const a = databaseChannel(t.db, { origin: 'a2', changeStreams: 'off', pollMs: 10 });
    const b = databaseChannel(t.db, { origin: 'b2', changeStreams: 'off', pollMs: 10 });
    let wanted = false;
    const heard: number[] = [];
    b.subscribe((w) => heard.push(w.count), { wanted: () => wanted });
    await sleep(50);
    wanted = true;
    await sleep(100);
    wanted = false;
    await sleep(50);
    await a.announce({ count: 9 });
    await sleep(100);
    expect(heard).toEqual([]);
    wanted = true;
    await waitFor(() => heard.includes(9), 'the wake-up once wanted');
    await a.close();
    await b.close();
  });
});
