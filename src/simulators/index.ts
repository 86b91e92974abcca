import type { Server } from 'node:http';
import type { Logger } from '../logger.js';
import { createCollectionsMonitorSimulator, type CollectionsMonitorSimulator } from './collections-monitor.simulator.js';
import { createNotificationSimulator, type NotificationSimulator } from './notification.simulator.js';
import { closeServer, listen } from './simulator-kit.js';
import { createSmsAgentSimulator, type SmsAgentSimulator } from './sms-agent.simulator.js';

export { createCollectionsMonitorSimulator, simulatedTenant, isSpanishTenantId } from './collections-monitor.simulator.js';
export { createNotificationSimulator } from './notification.simulator.js';
export { createSmsAgentSimulator } from './sms-agent.simulator.js';
export type { CollectionsMonitorSimulator, NotificationSimulator, SmsAgentSimulator };

export interface RunningSimulators {
  urls: { collectionsMonitor: string; smsAgent: string; notificationService: string };
  monitor: CollectionsMonitorSimulator;
  sms: SmsAgentSimulator;
  notifications: NotificationSimulator;
  /** Clears every simulator's state and faults. */
  reset(): void;
  close(): Promise<void>;
}

/**
 * Starts the three stand-ins on basePort, basePort+1, basePort+2 (basePort 0: each on a free port, for
 * tests). For local runs only: nothing they answer is real.
 */
export async function startSimulators(options: {
  basePort: number;
  host?: string;
  logger: Logger;
  /** Whether `POST /_control/faults` may inject faults (never in production). */
  faultControl?: boolean;
}): Promise<RunningSimulators> {
  const host = options.host ?? '127.0.0.1';
  const port = (offset: number) => (options.basePort === 0 ? 0 : options.basePort + offset);
  const simulatorOptions = { faultControl: options.faultControl ?? false };
  const monitor = createCollectionsMonitorSimulator(simulatorOptions);
  const sms = createSmsAgentSimulator(simulatorOptions);
  const notifications = createNotificationSimulator(simulatorOptions);

  const servers: Server[] = [];
  const close = async () => {
    monitor.reset();
    sms.reset();
    notifications.reset();
    await Promise.all(servers.splice(0).map(closeServer));
  };
  try {
    const started = [];
    for (const [offset, app] of [monitor.app, sms.app, notifications.app].entries()) {
      const running = await listen(app, port(offset), host);
      servers.push(running.server);
      started.push(running.url);
    }
    const urls = { collectionsMonitor: started[0], smsAgent: started[1], notificationService: started[2] };
    options.logger.warn({ urls }, 'SIMULATORS RUNNING: Collections Monitor, SMS Agent and Notification Service are fakes; no SMS or notification leaves this machine');
    return {
      urls,
      monitor,
      sms,
      notifications,
      reset() {
        monitor.reset();
        sms.reset();
        notifications.reset();
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
