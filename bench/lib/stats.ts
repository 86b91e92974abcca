/** Percentiles, settings from the environment, number formats and the machine's description. */
import os from 'node:os';
import type pg from 'pg';

export interface Percentiles {
  min: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { min: 0, mean: 0, p50: 0, p95: 0, p99: 0, max: 0 };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  const mean = sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
  return { min: sorted[0], mean, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[sorted.length - 1] };
}

export function positive(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${text}`);
  return value;
}

export const mb = (bytes: number) => bytes / 2 ** 20;
export const f0 = (n: number) => Math.round(n).toLocaleString('en-US');
export const f1 = (n: number) => n.toFixed(1);
export const f2 = (n: number) => n.toFixed(2);

export type MachineInfo = Awaited<ReturnType<typeof describeMachine>>;

export async function describeMachine(admin: pg.Pool) {
  const { rows } = await admin.query<{ version: string; sync: string; max: string }>(
    `select version() as version, current_setting('synchronous_commit') as sync, current_setting('max_connections') as max`,
  );
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGb: os.totalmem() / 2 ** 30,
    node: process.version,
    postgres: rows[0].version,
    synchronousCommit: rows[0].sync,
    maxConnections: rows[0].max,
    platform: `${os.type()} ${os.release()}`,
    loadAverage: os.loadavg(),
  };
}

export function describeMachineLine(m: MachineInfo) {
  return `Machine: ${m.cpus} CPUs (${m.cpuModel}), ${f1(m.memoryGb)} GiB memory, ${m.platform}, Node ${m.node}; load average at the start ${m.loadAverage.map(f2).join(' / ')} (1 / 5 / 15 min; the machine is shared).`;
}

/** Numbers of stored conversations to measure at, from a comma-separated variable (`10000,100000,1_000_000`), ascending. */
export function sizesFromEnv(name: string, fallback = '10000,100000,1000000'): number[] {
  const text = process.env[name] ?? fallback;
  const sizes = text.split(',').map((part) => part.trim()).filter(Boolean).map((part) => {
    const value = Number(part.replace(/_/g, ''));
    if (!Number.isInteger(value) || value < 100 || value > 10_000_000) throw new Error(`${name}: not a size (100 … 10,000,000): ${part}`);
    return value;
  });
  return [...new Set(sizes)].sort((a, b) => a - b);
}
