import { request } from 'undici';

/**
 * One inbound text POSTed to `/orchestrate/sms-received` as the SMS Agent would. Answers the status as a string,
 * or 'network error'. The load stands in for a service that is not ours, and its CPU is counted beside ours
 * ("outside"), so it calls through undici's `request`, as the service's own clients do, rather than `fetch`
 * (~0.1 ms of CPU a call against ~0.35; docs/benchmarks.md, "The seventh pass").
 */
export async function postInboundText(baseUrl: string, token: string, idempotencyKey: string, body: string, timeoutMs = 30_000): Promise<string> {
  try {
    const response = await request(`${baseUrl}/orchestrate/sms-received`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'idempotency-key': idempotencyKey },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body.dump();
    return String(response.statusCode);
  } catch {
    return 'network error';
  }
}
