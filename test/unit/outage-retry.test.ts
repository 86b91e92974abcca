import { describe, expect, it } from '@jest/globals';
import { AppError, ServiceError } from '../../src/errors.js';
import { outageRetry } from '../../src/runtime/worker.js';
import type { InvokePayload } from '../../src/runtime/job-queue.js';

/** When an invoke waits out an SMS Agent outage, and for how long (docs/architecture.md §3). */

const WINDOW = 15 * 60_000;
const T0 = Date.parse('2026-12-04T12:00:00Z');
const send: InvokePayload = { conversationId: 'c-1', invokeId: 'sender', src: 'sendSms', input: {}, token: 'c-1:3:1' };
const down = new ServiceError('sms_agent', 'sms_agent circuit breaker is open', true);

describe('waiting out an SMS Agent outage', () => {
  it('when the agent is down, then the invoke is put back with a doubling wait, at most a minute, carrying when the outage began', () => {
    let job = send;
    const waits: number[] = [];
    for (let n = 0; n < 8; n += 1) {
      const now = T0 + n * 1_000;
      const next = outageRetry(job, down, now, WINDOW)!;
      waits.push(next.runAt.getTime() - now);
      expect(next.payload).toMatchObject({ token: send.token, outageSince: new Date(T0).toISOString(), outageRetries: n + 1 });
      job = next.payload;
    }
    expect(waits).toEqual([2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  });

  it('when the window has passed since the first failure, then it is not put back (the error goes to the machine)', () => {
    const late = { ...send, outageSince: new Date(T0).toISOString(), outageRetries: 30 };
    expect(outageRetry(late, down, T0 + WINDOW, WINDOW)).toBeNull();
    // The last wait ends at the window's end, not past it.
    expect(outageRetry(late, down, T0 + WINDOW - 1_000, WINDOW)!.runAt.getTime()).toBe(T0 + WINDOW);
  });

  it('when another service or a final error fails the invoke, then it keeps its counted tries', () => {
    expect(outageRetry(send, new ServiceError('collections_monitor', 'down', true, 503), T0, WINDOW)).toBeNull();
    expect(outageRetry(send, new ServiceError('sms_agent', 'bad request', false, 400), T0, WINDOW)).toBeNull();
    expect(outageRetry(send, new AppError('opted_out', 'opted out', 409), T0, WINDOW)).toBeNull();
  });
});
