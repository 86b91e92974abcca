import { randomUUID } from 'node:crypto';
import type express from 'express';
import { z } from 'zod';
import { createFaults, createSimulatorApp, withControls, finishApp, sendError, validationDetails, type SimulatorControls } from './simulator-kit.js';

/**
 * Stand-in for the Notification Service (docs/architecture.md §6): `POST /notifications/send` (honours
 * `Idempotency-Key`), plus a simulator-only `GET /notifications` listing what it holds.
 */

const sendBody = z.object({
  channel: z.string().min(1),
  recipient: z.string().min(1),
  content: z.object({ subject: z.string(), body: z.string().min(1) }),
  priority: z.enum(['low', 'normal', 'high', 'critical']),
  metadata: z.record(z.string(), z.unknown()).default({}),
});

export type ReceivedNotification = z.infer<typeof sendBody> & {
  tracking_id: string;
  idempotencyKey?: string;
  received_at: string;
};

export interface NotificationSimulator extends SimulatorControls {
  app: express.Express;
  /** Every notification stored, in arrival order (idempotent replays and simulated failures are not). */
  readonly received: ReceivedNotification[];
  reset(): void;
}

export function createNotificationSimulator(options: { faultControl?: boolean } = {}): NotificationSimulator {
  const faults = createFaults({ control: options.faultControl });
  const app = createSimulatorApp(faults);
  const received: ReceivedNotification[] = [];
  const answers = new Map<string, { tracking_id: string }>();


  app.post('/notifications/send', async (req, res) => {
    const parsed = sendBody.safeParse(req.body ?? {});
    if (!parsed.success) return sendError(res, 400, 'validation_error', 'invalid notification', validationDetails(parsed.error));
    const key = req.get('idempotency-key');
    let answer = key ? answers.get(key) : undefined;
    if (!answer) {
      answer = { tracking_id: `ntf_${randomUUID()}` };
      if (key) answers.set(key, answer);
      received.push({ ...parsed.data, tracking_id: answer.tracking_id, idempotencyKey: key, received_at: new Date().toISOString() });
    }
    await faults.delay(req);
    res.status(200).json(answer);
  });

  app.get('/notifications', (_req, res) => {
    res.json({ notifications: received, total: received.length });
  });
  finishApp(app);

  return withControls<NotificationSimulator>(
    faults,
    {
      app,
      received,
    },
    () => {
      received.length = 0;
      answers.clear();
    },
  );
}
