/**
 * The queue-provider conformance suite (modelled on BullMQ's adapter tests): every QueueProvider must
 * pass it. It drives the provider only through the QueueProvider interface and asserts outcomes, never
 * durations; waits are generous budgets that a conforming provider ends early.
 *
 * The required behaviours (lib/queues/provider.ts) are checked for every provider. What a provider may
 * declare unsupported is checked exactly where its `capabilities` declare it, and otherwise only for
 * the weaker guarantee the contract gives (e.g. without exactDeliveryCount an abandoned message must
 * still come back, whatever its count); a check that has nothing left to check is skipped.
 *
 * The factory is called once per test and must return a provider on queues of its own (fresh names),
 * with a short visibility timeout (a few seconds) and a max delivery count of at least 5. The suite
 * calls ensureQueues() first and provider.close() at the end, then cleanup() (remove what the factory
 * made; a second close must be harmless).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DEAD_LETTER_DESCRIPTION_PROPERTY,
  DEAD_LETTER_REASON_PROPERTY,
  QueueProviderError,
  type QueueCapabilities,
  type QueueMessage,
  type QueueProvider,
} from '../../lib/queues/provider.js';

export interface QueueProviderHarness {
  provider: QueueProvider;
  cleanup(): Promise<void>;
}

/** Receives until `count` messages arrived or the budget is spent (a budget, not an assertion). */
async function receiveAtLeast(
  receive: (o: { maxMessages: number; waitMs: number }) => Promise<QueueMessage[]>,
  count: number,
  opts: { budgetMs?: number; maxMessages?: number } = {},
): Promise<{ messages: QueueMessage[]; largestBatch: number }> {
  const until = Date.now() + (opts.budgetMs ?? 20_000);
  const messages: QueueMessage[] = [];
  let largestBatch = 0;
  while (messages.length < count && Date.now() < until) {
    const got = await receive({
      maxMessages: opts.maxMessages ?? Math.min(16, count - messages.length),
      waitMs: Math.min(5_000, Math.max(1, until - Date.now())),
    });
    largestBatch = Math.max(largestBatch, got.length);
    messages.push(...got);
  }
  return { messages, largestBatch };
}

function property(m: QueueMessage, name: string): string | number | boolean | undefined {
  const key = Object.keys(m.properties ?? {}).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : m.properties![key];
}

const tricky = [
  '{"type":"echo","payload":{"html":"<b>bold</b> & <i>it</i>","cdata":"]]>","q":"\\"quoted\\""}}',
  'a < b && c > d ]]> <![CDATA[ not cdata ]]> &amp; &lt;',
  'ünïcødé — 漢字テキスト — Ελληνικά — עברית — emoji 😀🚀',
  'line one\r\nline two\nline three\r',
  '  leading and trailing spaces  ',
];

export function describeQueueProviderConformance(name: string, factory: () => Promise<QueueProviderHarness>) {
  describe(`QueueProvider conformance: ${name}`, () => {
    let h: QueueProviderHarness;
    let p: QueueProvider;
    let can: QueueCapabilities;
    const receive = (o: { maxMessages: number; waitMs: number }) => p.receive(o);
    const receiveDead = (o: { maxMessages: number; waitMs: number }) => p.receiveDeadLetters(o);

    beforeEach(async () => {
      h = await factory();
      p = h.provider;
      can = p.capabilities;
      await p.ensureQueues();
    });
    afterEach(async () => {
      await p?.close();
      await h?.cleanup();
    });

    it('names its kind, queue and dead-letter queue, and declares its capabilities', () => {
      expect(p.kind).toMatch(/\S/);
      const declared: (keyof QueueCapabilities)[] = [
        'exactDeliveryCount',
        'visibilityTimeout',
        'depth',
        'deadLetterDepth',
        'longPolling',
        'scheduledDelivery',
        'sessions',
      ];
      for (const c of declared) expect(typeof p.capabilities[c], c).toBe('boolean');
      expect(p.queueName).toMatch(/\S/);
      expect(p.deadLetterQueueName).toMatch(/\S/);
      expect(p.deadLetterQueueName).not.toBe(p.queueName);
    });

    it('ensureQueues is idempotent', async () => {
      await p.ensureQueues();
      await p.ensureQueues();
      const sent = await p.send({ body: 'after ensure' });
      const { messages } = await receiveAtLeast(receive, 1);
      expect(messages.map((m) => [m.id, m.body])).toEqual([[sent.id, 'after ensure']]);
    });

    it('round-trips bodies intact (<, &, ]]>, CR/LF, non-ASCII) with id, delivery count 1 and enqueue time', async () => {
      const ids = new Map<string, string>();
      for (const body of tricky) ids.set((await p.send({ body })).id, body);
      const { messages } = await receiveAtLeast(receive, tricky.length);
      expect(messages).toHaveLength(tricky.length);
      for (const m of messages) {
        expect(ids.get(m.id)).toBe(m.body);
        if (can.exactDeliveryCount) expect(m.deliveryCount).toBe(1);
        else expect(m.deliveryCount).toBeGreaterThanOrEqual(1);
        expect(m.enqueuedAt).toBeInstanceOf(Date);
        expect(Number.isNaN(m.enqueuedAt.getTime())).toBe(false);
      }
      expect(new Set(messages.map((m) => m.body))).toEqual(new Set(tricky));
    });

    it('sends and receives in batches, respecting maxMessages', async () => {
      const bodies = Array.from({ length: 20 }, (_, i) => JSON.stringify({ n: i, text: `batch <${i}> & co` }));
      const results = await p.sendBatch(bodies.map((body) => ({ body })));
      expect(results).toHaveLength(20);
      expect(new Set(results.map((r) => r.id)).size).toBe(20);

      const first = await receiveAtLeast(receive, 1, { maxMessages: 3 });
      expect(first.messages.length).toBeGreaterThanOrEqual(1);
      expect(first.messages.length).toBeLessThanOrEqual(3);
      const rest = await receiveAtLeast(receive, 20 - first.messages.length, { maxMessages: 10 });
      const all = [...first.messages, ...rest.messages];
      expect(all.map((m) => m.body).sort()).toEqual([...bodies].sort());
      expect(new Set(all.map((m) => m.id))).toEqual(new Set(results.map((r) => r.id)));
      expect(Math.max(first.largestBatch, rest.largestBatch)).toBeGreaterThan(1);
      await Promise.all(all.map((m) => p.complete(m)));
    });

    it('counts deliveries: an abandoned message comes back with the same id and body (deliveryCount 2 where exact)', async () => {
      const sent = await p.send({ body: 'redeliver me' });
      const [first] = (await receiveAtLeast(receive, 1)).messages;
      expect(first).toMatchObject({ id: sent.id, body: 'redeliver me' });
      if (can.exactDeliveryCount) expect(first!.deliveryCount).toBe(1);
      await p.abandon(first!, 0);
      const [second] = (await receiveAtLeast(receive, 1)).messages;
      expect(second).toMatchObject({ id: sent.id, body: 'redeliver me' });
      if (can.exactDeliveryCount) expect(second!.deliveryCount).toBe(2);
      else expect(second!.deliveryCount).toBeGreaterThanOrEqual(first!.deliveryCount);
      await p.complete(second!);
    });

    it('complete removes the message for good', async () => {
      await p.send({ body: 'done' });
      await p.send({ body: 'stays' });
      const { messages } = await receiveAtLeast(receive, 2);
      const done = messages.find((m) => m.body === 'done')!;
      const stays = messages.find((m) => m.body === 'stays')!;
      await p.complete(done);
      await p.abandon(stays, 0);
      // Read until the abandoned one is back: the completed one must never reappear beside it.
      const again = await receiveAtLeast(receive, 1);
      expect(again.messages.map((m) => m.body)).toEqual(['stays']);
      await p.complete(again.messages[0]!);
      expect(await p.receive({ maxMessages: 10, waitMs: 1_000 })).toEqual([]);
      const health = await p.health();
      expect(health.depth ?? 0).toBe(0);
    });

    it('abandon with a delay hides the message (where visibility timeouts are declared), then redelivers it', async () => {
      const sent = await p.send({ body: 'later please' });
      const [m] = (await receiveAtLeast(receive, 1)).messages;
      await p.abandon(m!, 3_000);
      if (can.visibilityTimeout) expect(await p.receive({ maxMessages: 10, waitMs: 0 })).toEqual([]);
      const [back] = (await receiveAtLeast(receive, 1)).messages;
      expect(back).toMatchObject({ id: sent.id, body: 'later please' });
      if (can.exactDeliveryCount) expect(back!.deliveryCount).toBe(2);
      await p.complete(back!);
    });

    it('deadLetter moves the message to the dead-letter queue with its reason and description', async () => {
      const body = '{"broken": <not json> & ünïcødé}';
      await p.send({ body });
      await p.send({ body: 'healthy' });
      const { messages } = await receiveAtLeast(receive, 2);
      const bad = messages.find((m) => m.body === body)!;
      await p.deadLetter(bad, 'ConformanceReason', 'a description with <markup> & "quotes"');
      await p.complete(messages.find((m) => m.body === 'healthy')!);

      const [dead] = (await receiveAtLeast(receiveDead, 1)).messages;
      expect(dead!.body).toBe(body);
      expect(property(dead!, DEAD_LETTER_REASON_PROPERTY)).toBe('ConformanceReason');
      expect(property(dead!, DEAD_LETTER_DESCRIPTION_PROPERTY)).toBe('a description with <markup> & "quotes"');
      expect(await p.receive({ maxMessages: 10, waitMs: 1_000 })).toEqual([]);

      const health = await p.health();
      expect(health.reachable).toBe(true);
      if (can.deadLetterDepth) expect(health.deadLetterDepth).toBe(1);
      else if (health.deadLetterDepth !== undefined) expect(health.deadLetterDepth).toBe(1);

      await p.completeDeadLetter(dead!);
      expect(await p.receiveDeadLetters({ maxMessages: 10, waitMs: 1_000 })).toEqual([]);
    });

    it('a delayed or scheduled message is not delivered before its time, then it is (or is refused where unsupported)', async () => {
      if (!can.scheduledDelivery) {
        for (const early of [
          { body: 'delayed', delayMs: 3_000 },
          { body: 'scheduled', scheduledAt: new Date(Date.now() + 3_000) },
        ]) {
          const err = await p.send(early).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err).toBeInstanceOf(QueueProviderError);
          expect((err as QueueProviderError).details.code).toBe('Unsupported');
        }
        expect(await p.receive({ maxMessages: 10, waitMs: 1_000 })).toEqual([]);
        return;
      }
      await p.send({ body: 'delayed', delayMs: 3_000 });
      await p.send({ body: 'scheduled', scheduledAt: new Date(Date.now() + 3_000) });
      await p.send({ body: 'now' });
      const early = await receiveAtLeast(receive, 1);
      expect(early.messages.map((m) => m.body)).toEqual(['now']);
      await p.complete(early.messages[0]!);
      const late = await receiveAtLeast(receive, 2);
      expect(late.messages.map((m) => m.body).sort()).toEqual(['delayed', 'scheduled']);
      if (can.exactDeliveryCount) for (const m of late.messages) expect(m.deliveryCount).toBe(1);
    });

    it('health is reachable and reports the depth (where declared)', async () => {
      const empty = await p.health();
      expect(empty).toMatchObject({ provider: p.kind, queue: p.queueName, reachable: true });
      if (!can.depth) return;
      expect(empty.depth).toBe(0);
      await p.sendBatch([{ body: 'a' }, { body: 'b' }, { body: 'c' }]);
      expect((await p.health()).depth).toBe(3);
      const [m] = (await receiveAtLeast(receive, 1, { maxMessages: 1 })).messages;
      await p.complete(m!);
      expect((await p.health()).depth).toBe(2);
    });

    it('a long poll (waitMs) returns the message that arrives while it waits', async (t) => {
      if (!can.longPolling) t.skip();
      const pending = p.receive({ maxMessages: 5, waitMs: 15_000 });
      await new Promise((r) => setTimeout(r, 300));
      const sent = await p.send({ body: 'arrived while waiting' });
      const got = await pending;
      expect(got.map((m) => [m.id, m.body])).toEqual([[sent.id, 'arrived while waiting']]);
    });

    it('a receive waiting on an empty queue returns [] soon after its signal aborts, and a message sent afterwards is still delivered to the next receive', async () => {
      // waitMs is longer than this test's own timeout: the test finishing is the "soon".
      const stop = new AbortController();
      const pending = p.receive({ maxMessages: 5, waitMs: 20_000, signal: stop.signal });
      await new Promise((r) => setTimeout(r, 300));
      stop.abort();
      expect(await pending).toEqual([]);
      // A signal aborted before the call: no wait at all.
      expect(await p.receive({ maxMessages: 5, waitMs: 20_000, signal: stop.signal })).toEqual([]);

      // The service may still hold the stopped long poll open: the message must not be lost to it.
      const sent = await p.send({ body: 'sent after the abort' });
      const { messages } = await receiveAtLeast(receive, 1, { budgetMs: 10_000 });
      expect(messages.map((m) => [m.id, m.body])).toEqual([[sent.id, 'sent after the abort']]);
      await p.complete(messages[0]!);

      const stopDead = new AbortController();
      const pendingDead = p.receiveDeadLetters({ maxMessages: 5, waitMs: 20_000, signal: stopDead.signal });
      await new Promise((r) => setTimeout(r, 300));
      stopDead.abort();
      expect(await pendingDead).toEqual([]);
    }, 18_000);

    it('carries the session id of a message (where sessions are declared)', async (t) => {
      if (!can.sessions) t.skip();
      const sent = await p.send({ body: 'in a session', sessionId: 'conformance-session' });
      const [m] = (await receiveAtLeast(receive, 1)).messages;
      expect(m).toMatchObject({ id: sent.id, body: 'in a session', sessionId: 'conformance-session' });
      await p.complete(m!);
    });

    it('a receive on an empty queue with waitMs 0 returns nothing', async () => {
      expect(await p.receive({ maxMessages: 5, waitMs: 0 })).toEqual([]);
      expect(await p.receiveDeadLetters({ maxMessages: 5, waitMs: 0 })).toEqual([]);
    });
  });
}
