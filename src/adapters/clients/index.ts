import type { Logger } from '../../logger.js';
import type { DownstreamOutcome } from '../../metrics.js';
import { SMS_AGENT, type Services } from '../ports.js';
import { COLLECTIONS_MONITOR, createCollectionsMonitorClient } from './collections-monitor.client.js';
import { NOTIFICATION_SERVICE, createNotificationClient } from './notification.client.js';
import { createServiceHttp, type BreakerState, type CallOutcome, type ResilienceOptions } from './service-http.js';
import { createSmsAgentClient } from './sms-agent.client.js';

export { parseAmountToCents, languageOf } from './collections-monitor.client.js';
export * from './service-http.js';
export { COLLECTIONS_MONITOR, NOTIFICATION_SERVICE, SMS_AGENT };

export interface ServiceUrls {
  collectionsMonitor: string;
  smsAgent: string;
  notificationService: string;
}

export interface ServiceClients {
  services: Services;
  /** Breaker state per downstream service, keyed by service name, for /health/dependencies. */
  breakers: Record<string, () => BreakerState>;
  /** The last outcome of an operation (`sms.send`, `sms.history`, …) per service, in this process. */
  lastOutcome: Record<string, (operation: string) => CallOutcome | null>;
}

/** The real downstream clients: one got instance and one retry + breaker policy per service per process. */
export function createServiceClients(options: {
  urls: ServiceUrls;
  timeoutMs?: number;
  token: () => string;
  logger: Logger;
  resilience?: ResilienceOptions;
  /** Every attempt's outcome and duration, by service (metrics). */
  onCall?: (service: string, outcome: DownstreamOutcome, seconds: number) => void;
}): ServiceClients {
  const common = { timeoutMs: options.timeoutMs, token: options.token, logger: options.logger, ...options.resilience };
  const client = (service: string, baseUrl: string) =>
    createServiceHttp({ ...common, service, baseUrl, observe: options.onCall && ((outcome, seconds) => options.onCall!(service, outcome, seconds)) });
  const monitor = client(COLLECTIONS_MONITOR, options.urls.collectionsMonitor);
  const sms = client(SMS_AGENT, options.urls.smsAgent);
  const notifications = client(NOTIFICATION_SERVICE, options.urls.notificationService);
  return {
    services: {
      collectionsMonitor: createCollectionsMonitorClient(monitor),
      smsAgent: createSmsAgentClient(sms),
      notifications: createNotificationClient(notifications),
    },
    breakers: {
      [COLLECTIONS_MONITOR]: () => monitor.breakerState(),
      [SMS_AGENT]: () => sms.breakerState(),
      [NOTIFICATION_SERVICE]: () => notifications.breakerState(),
    },
    lastOutcome: {
      [COLLECTIONS_MONITOR]: (operation) => monitor.lastOutcome(operation),
      [SMS_AGENT]: (operation) => sms.lastOutcome(operation),
      [NOTIFICATION_SERVICE]: (operation) => notifications.lastOutcome(operation),
    },
  };
}
