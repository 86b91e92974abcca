import { describe, expect, it } from '@jest/globals';
import type { ConversationContext } from '../../machines/conversation/conversation.types.js';
import { createMetrics, lastGood, turnOf } from '../../src/metrics.js';
import type { CommittedTransition } from '../../src/runtime/apply-event.js';
import { lintFamilies, parseExposition } from '../helpers/exposition.js';

/** A read the test finishes by hand. */
function pendingRead<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('lastGood: scrape-time reads that never fail the scrape', () => {
  it('when reads succeed, then a fresh answer is reused and a stale one read again', async () => {
    let reads = 0;
    const read = lastGood(async () => ++reads, { timeoutMs: 1_000, freshMs: 300, onFailure: () => {} });
    expect(await read()).toBe(1);
    expect(await read()).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(await read()).toBe(2);
  });

  it('when a read is slower than the timeout, then the last good answer comes back at the timeout, and no second read starts while it runs', async () => {
    const failures: string[] = [];
    const reads = [pendingRead<number>(), pendingRead<number>(), pendingRead<number>()];
    let started = 0;
    const read = lastGood(() => reads[started++]!.promise, { timeoutMs: 30, freshMs: 0, onFailure: (reason) => void failures.push(reason) });

    const first = read();
    reads[0]!.resolve(7);
    expect(await first).toBe(7);

    const slow = read();
    expect(await slow).toBe(7); // after 30 ms, the last answer
    expect(failures).toEqual(['timeout']);
    expect(await read()).toBe(7); // the slow read is still running: shared, not repeated
    expect(started).toBe(2);

    // The slow read still lands: a later read that times out reports it.
    reads[1]!.resolve(9);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await read()).toBe(9);
    expect(started).toBe(3);
    expect(failures).toEqual(['timeout', 'timeout']);
  });

  it('when the first read fails, then null comes back and the failure is counted as an error', async () => {
    const failures: string[] = [];
    const read = lastGood(() => Promise.reject(new Error('database down')), { timeoutMs: 1_000, freshMs: 0, onFailure: (reason) => void failures.push(reason) });
    expect(await read()).toBeNull();
    expect(failures).toEqual(['error']);
  });
});

describe('turnOf: the time from a debtor text to the reply handed over', () => {
  const outgoing = (inReplyTo: string | null, decidedBy: 'auto' | 'manager' = 'auto') =>
    ({ outgoing: { text: 'x', decidedBy, approvalId: null, key: 'k', offer: null, inReplyTo } }) as unknown as ConversationContext;
  const step = (from: string | null, to: string, contextBefore: ConversationContext | null): CommittedTransition => ({
    conversationId: 'conv-1',
    from,
    to,
    event: { type: 'xstate.done.actor.sender' },
    contextBefore,
  });
  const now = Date.parse('2026-01-05T15:00:12Z');

  it('when the sender hands over a reply, then the turn lasted from the text it answers, by who decided it', () => {
    expect(turnOf(step('sending.handingOff', 'sent', outgoing('2026-01-05T15:00:00Z')), now)).toEqual({ decidedBy: 'auto', seconds: 12 });
    expect(turnOf(step('sending.handingOff', 'sent', outgoing('2026-01-05T14:00:12Z', 'manager')), now)).toEqual({ decidedBy: 'manager', seconds: 3600 });
  });

  it('when a step is anything else, or the text answers nothing, then there is no turn', () => {
    expect(turnOf(step('sent', 'awaitingReply', outgoing('2026-01-05T15:00:00Z')), now)).toBeNull();
    expect(turnOf(step('sending.handingOff', 'sent', outgoing(null)), now)).toBeNull();
    expect(turnOf(step(null, 'idle', null), now)).toBeNull();
  });
});

describe('the registry on its own', () => {
  it('when nothing has happened yet, then the exposition is valid and linted, and the scrape-time gauges wait for their sources', async () => {
    const metrics = createMetrics();
    const text = await metrics.registry.metrics();
    expect(lintFamilies(parseExposition(text))).toEqual([]);
    metrics.readFrom({
      breakers: { sms_agent: () => 'open' },
      backlog: async () => ({
        jobs: [{ task: 'invoke', ready: 3, waiting: 1, running: 2, failed: 0, oldestReadyAgeSeconds: 4.5 }],
        approvals: { pending: 2, oldestAgeSeconds: 60 },
      }),
    });
    const families = new Map(parseExposition(await metrics.registry.metrics()).map((family) => [family.name, family]));
    const sample = (name: string, labels: Record<string, string> = {}) =>
      families.get(name)!.samples.find((s) => Object.entries(labels).every(([key, value]) => s.labels[key] === value))?.value;
    expect(sample('orchestrator_circuit_breaker_state', { service: 'sms_agent', state: 'open' })).toBe(1);
    expect(sample('orchestrator_circuit_breaker_state', { service: 'sms_agent', state: 'closed' })).toBe(0);
    expect(sample('orchestrator_job_queue_depth', { task: 'invoke', state: 'ready' })).toBe(3);
    expect(sample('orchestrator_job_oldest_ready_age_seconds', { task: 'invoke' })).toBe(4.5);
    expect(sample('orchestrator_approvals_pending')).toBe(2);
    expect(sample('orchestrator_approval_oldest_pending_age_seconds')).toBe(60);
  });
});

describe('the exposition reader used by these tests', () => {
  it('when the text breaks the format, then it says where', () => {
    const valid = '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1"} 3\n';
    expect(parseExposition(valid)).toHaveLength(1);
    expect(() => parseExposition(valid.replace(' 3', ' three'))).toThrow(/not a number/);
    expect(() => parseExposition(`${valid}# TYPE a_total counter\n`)).toThrow(/twice/);
    expect(() => parseExposition(valid.replace('{x="1"}', '{x=1}'))).toThrow(/bad label/);
    expect(() => parseExposition(valid.replace(' 3', ' -1'))).toThrow(/counter/);
    expect(() => parseExposition(`${valid}# TYPE b gauge\nb 1\na_total{x="2"} 1\n`)).toThrow(/not contiguous/);
    expect(() => parseExposition('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n')).toThrow(/out of order/);
    expect(lintFamilies(parseExposition('# TYPE a counter\na 1\n'))).toEqual(['a: no help text', 'a: a counter without the _total suffix']);
    expect(lintFamilies(parseExposition('# HELP a_ms A.\n# TYPE a_ms gauge\na_ms 1\n'))).toEqual(['a_ms: not in base units (seconds, bytes)']);
  });
});
