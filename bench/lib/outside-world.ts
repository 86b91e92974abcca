/**
 * The world outside the service, in its own process: the debtors (the load), the three services'
 * simulators and the OpenAI-compatible model stub. In production none of them shares the service's event
 * loop, so in the turn benchmark none does either: the service process runs only the service, and its CPU
 * is the service's own. Both processes share the machine's cores, as they would share a small host.
 *
 * Parent: `startOutsideWorld()` forks this file and talks to it over IPC. Child: `runChild()` below.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { postInboundText } from './post-text.js';
import { converse, sendsTo, type BenchDebtor, type ConverseOrder, type ConverseSeen, type SendSeen } from './debtor-loop.js';

export interface WorldUrls {
  collectionsMonitor: string;
  smsAgent: string;
  notificationService: string;
  openAi: string;
}

export interface BurstOrder {
  url: string;
  token: string;
  /** One per debtor (debtorOnRecord); keys[i] is debtor i's Idempotency-Key. */
  debtors: BenchDebtor[];
  keys: string[];
  text: string;
  timeoutMs: number;
  settleMs: number;
}

/** What the outside saw of one burst; times are Date.now() milliseconds (one clock: the same machine). */
export interface BurstSeen {
  /** When each debtor's first POST left. */
  started: Record<string, number>;
  /** POST → 202 per debtor (retries included), ms. */
  postMs: number[];
  statuses: Record<string, number>;
  retried: number;
  non202: number;
  /** Every send the SMS Agent received for the burst's numbers: when, per number, in order. */
  arrivals: Record<string, number[]>;
  /** CPU of this process (load, simulators, model stub) from the first POST to the last first reply, ms. */
  cpuMs: number;
}

/** A refused POST is sent again after this long, with the same key, as the SMS Agent would. */
const RETRY_AFTER_MS = 1_000;
/** Tries of one inbound POST (the first and its retries with the same key). */
export const POST_ATTEMPTS = 5;

export interface OutsideWorld {
  urls: WorldUrls;
  pid: number;
  /** Runs one burst; `onDelivered` fires when every debtor has a first reply (before the duplicate watch). */
  burst(order: BurstOrder, onDelivered: () => void): Promise<BurstSeen>;
  /** Debtors in a closed loop of turns (bench/lib/debtor-loop.ts); clears the simulators first, as a burst does. */
  converse(order: ConverseOrder): Promise<ConverseSeen>;
  /** What the SMS Agent simulator has received since the last burst or loop began (to these numbers, or all). */
  sends(phones: string[] | null): Promise<SendSeen[]>;
  /** CPU the outside world has used since the current burst began, ms (asked during a burst). */
  cpuSoFar(): Promise<number>;
  stop(): Promise<void>;
}

type ToChild =
  | { kind: 'burst'; order: BurstOrder }
  | { kind: 'converse'; order: ConverseOrder }
  | { kind: 'sends'; phones: string[] | null }
  | { kind: 'cpu' }
  | { kind: 'stop' };
type FromChild =
  | { kind: 'ready'; urls: WorldUrls }
  | { kind: 'delivered' }
  | { kind: 'seen'; seen: BurstSeen }
  | { kind: 'conversed'; seen: ConverseSeen }
  | { kind: 'sent'; sends: SendSeen[] }
  | { kind: 'cpu'; cpuMs: number };

export async function startOutsideWorld(options: { modelDelayMs: number; modelAnswer: unknown }): Promise<OutsideWorld> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--outside-world', JSON.stringify(options)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const urls = await new Promise<WorldUrls>((resolve, reject) => {
    child.once('message', (message: FromChild) => (message.kind === 'ready' ? resolve(message.urls) : reject(new Error('outside world: unexpected first message'))));
    child.once('exit', (code) => reject(new Error(`outside world exited (${code}) before it was ready`)));
  });
  let busy = false;
  /** One question, one answer of kind `answer`; one at a time, like a burst. */
  const ask = <T>(question: ToChild, answer: FromChild['kind'], pick: (message: FromChild) => T) => {
    if (busy) throw new Error('outside world: one request at a time');
    busy = true;
    return new Promise<T>((resolve, reject) => {
      const onMessage = (message: FromChild) => {
        if (message.kind !== answer) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        busy = false;
        resolve(pick(message));
      };
      const onExit = (code: number | null) => reject(new Error(`outside world exited (${code}) during a ${question.kind}`));
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send(question);
    });
  };
  return {
    urls,
    pid: child.pid!,
    burst(order, onDelivered) {
      if (busy) throw new Error('outside world: one burst at a time');
      busy = true;
      return new Promise<BurstSeen>((resolve, reject) => {
        const onMessage = (message: FromChild) => {
          if (message.kind === 'delivered') return onDelivered();
          if (message.kind !== 'seen') return;
          child.off('message', onMessage);
          child.off('exit', onExit);
          busy = false;
          resolve(message.seen);
        };
        const onExit = (code: number | null) => reject(new Error(`outside world exited (${code}) during a burst`));
        child.on('message', onMessage);
        child.once('exit', onExit);
        child.send({ kind: 'burst', order } satisfies ToChild);
      });
    },
    converse: (order) => ask({ kind: 'converse', order }, 'conversed', (message) => (message as { seen: ConverseSeen }).seen),
    sends: (phones) => ask({ kind: 'sends', phones }, 'sent', (message) => (message as { sends: SendSeen[] }).sends),
    // Asked during a burst, so not through `ask` (one request at a time): a reply of its own kind.
    cpuSoFar: () =>
      new Promise<number>((resolve) => {
        const onMessage = (message: FromChild) => {
          if (message.kind !== 'cpu') return;
          child.off('message', onMessage);
          resolve(message.cpuMs);
        };
        child.on('message', onMessage);
        child.send({ kind: 'cpu' } satisfies ToChild);
      }),
    async stop() {
      if (child.exitCode === null) child.send({ kind: 'stop' } satisfies ToChild);
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

async function runChild(options: { modelDelayMs: number; modelAnswer: unknown }) {
  const { startSimulators } = await import('../../src/simulators/index.js');
  const { createLogger } = await import('../../src/logger.js');
  const { startOpenAiStub } = await import('../../test/helpers/openai-stub.js');
  const simulators = await startSimulators({ basePort: 0, logger: createLogger({ level: 'silent' }) });
  const stub = await startOpenAiStub({ always: { delayMs: options.modelDelayMs, json: options.modelAnswer } });
  const send = (message: FromChild) => process.send!(message);
  /** The CPU at the current burst's start, for a question mid-burst (`cpu`). */
  let burstCpu: NodeJS.CpuUsage | null = null;

  process.on('message', (message: ToChild) => {
    if (message.kind === 'stop') {
      void Promise.all([simulators.close(), stub.close()]).finally(() => process.exit(0));
      return;
    }
    if (message.kind === 'sends') return send({ kind: 'sent', sends: sendsTo(simulators, message.phones) });
    if (message.kind === 'cpu') {
      const used = process.cpuUsage(burstCpu ?? undefined);
      return send({ kind: 'cpu', cpuMs: burstCpu ? (used.user + used.system) / 1000 : 0 });
    }
    simulators.reset();
    stub.reset(); // the stub keeps every request it saw: a long run would hold them all
    if (message.kind === 'converse') void converse(message.order, simulators).then((seen) => send({ kind: 'conversed', seen }));
    else void burst(message.order).then((seen) => send({ kind: 'seen', seen }));
  });

  async function burst(order: BurstOrder): Promise<BurstSeen> {
    const started: Record<string, number> = {};
    const postMs: number[] = [];
    const statuses: Record<string, number> = {};
    let retried = 0;
    let non202 = 0;
    const cpu = process.cpuUsage();
    burstCpu = cpu;
    const since = Date.now(); // debtors answered before have earlier replies on record
    await Promise.all(
      order.debtors.map(async ({ tenant, phone }, i) => {
        const t0 = Date.now();
        started[phone] = t0;
        // As the SMS Agent would: a refused POST (503 when the database pool is saturated, 5xx, a network
        // error) is sent again after a second with the same Idempotency-Key, up to POST_ATTEMPTS times.
        for (let attempt = 1; attempt <= POST_ATTEMPTS; attempt += 1) {
          const status = await postInboundText(order.url, order.token, order.keys[i]!, JSON.stringify({ tenant_id: tenant, phone_number: phone, content: order.text }));
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (status === '202') break;
          if (attempt === POST_ATTEMPTS || !(status === 'network error' || status.startsWith('5'))) {
            non202 += 1;
            break;
          }
          retried += 1;
          await sleep(RETRY_AFTER_MS);
        }
        postMs.push(Date.now() - t0);
      }),
    );

    const wanted = new Set(order.debtors.map((debtor) => debtor.phone));
    const ours = () => simulators.sms.sent.filter((sent) => sent.receivedAtMs >= since && wanted.has(sent.to));
    const deadline = Date.now() + order.timeoutMs;
    while (Date.now() < deadline && new Set(ours().map((sent) => sent.to)).size < wanted.size) await sleep(10);
    const used = process.cpuUsage(cpu);
    send({ kind: 'delivered' });
    await sleep(order.settleMs);
    const arrivals: Record<string, number[]> = {};
    for (const sent of ours()) (arrivals[sent.to] ??= []).push(sent.receivedAtMs);
    return { started, postMs, statuses, retried, non202, arrivals, cpuMs: (used.user + used.system) / 1000 };
  }

  send({ kind: 'ready', urls: { ...simulators.urls, openAi: stub.baseUrl } });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

if (process.argv[2] === '--outside-world') await runChild(JSON.parse(process.argv[3]!));
