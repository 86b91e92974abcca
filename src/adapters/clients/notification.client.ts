import { z } from 'zod';
import { ServiceError } from '../../errors.js';
import type { NotificationService } from '../ports.js';
import type { ServiceHttp } from './service-http.js';

export const NOTIFICATION_SERVICE = 'notification_service';

const sendResponse = z.object({ tracking_id: z.union([z.string(), z.number()]).transform(String) });

export function createNotificationClient(http: ServiceHttp): NotificationService {
  return {
    async send(notification, idempotencyKey, signal) {
      const body = await http.request<unknown>('POST', '/notifications/send', {
        json: {
          channel: notification.channel,
          recipient: notification.recipient,
          content: { subject: notification.subject, body: notification.body },
          priority: notification.priority,
          metadata: notification.metadata,
        },
        headers: { 'idempotency-key': idempotencyKey },
        signal,
        operation: 'notification.send',
      });
      const parsed = sendResponse.safeParse(body);
      if (!parsed.success) throw new ServiceError(NOTIFICATION_SERVICE, 'notification_service answered without a tracking_id', false);
      return { trackingId: parsed.data.tracking_id };
    },
  };
}
