import request from 'supertest';

/** A pending approval as the manager's queue lists it (GET /v1/approvals, docs/api.md). */
export interface PendingApproval {
  response_queue_id: string;
  conversation_id: string;
  [field: string]: any;
}

/** The conversation's draft in the pending approvals queue, as a manager sees it (undefined when none waits). */
export async function pendingApproval(url: string, manager: Record<string, string>, conversationId: string): Promise<PendingApproval | undefined> {
  const queue = await request(url).get('/v1/approvals?status=pending').set(manager).expect(200);
  return (queue.body.items as PendingApproval[]).find((entry) => entry.conversation_id === conversationId);
}

/** A manager approves the conversation's pending draft as written (POST /orchestrate/approve-response, 202). */
export async function approveAsDrafted(url: string, manager: Record<string, string>, conversationId: string, idempotencyKey: string) {
  const item = await pendingApproval(url, manager, conversationId);
  if (!item) throw new Error(`no pending approval for ${conversationId}`);
  await request(url)
    .post('/orchestrate/approve-response')
    .set(manager)
    .set('Idempotency-Key', idempotencyKey)
    .send({ response_queue_id: item.response_queue_id, action: 'approve' })
    .expect(202);
  return item;
}
