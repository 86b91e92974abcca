/** CPU over a window of a benchmark: the machine's, this process's and the PostgreSQL server's, from /proc. */
import { readdirSync, readFileSync } from 'node:fs';
import { startCpuProfile } from './cpu-profile.js';

const CLOCK_TICKS = 100; // USER_HZ; `getconf CLK_TCK` is 100 on Linux everywhere we run

/** Machine-wide busy CPU, this process's CPU and the PostgreSQL server's (its postmaster and children). */
export function startCpuWindow(postmasterPid: number | null) {
  let machine = machineBusyMs();
  let self = process.cpuUsage();
  let postgres = postgresCpuMs(postmasterPid);
  const profile = startCpuProfile();
  return {
    restart() {
      profile.restart();
      machine = machineBusyMs();
      self = process.cpuUsage();
      postgres = postgresCpuMs(postmasterPid);
    },
    /** CPU used so far in the window (this process and PostgreSQL), without ending it. */
    sample() {
      const ownUsage = process.cpuUsage(self);
      const pgNow = postgresCpuMs(postmasterPid);
      return { benchProcessMs: (ownUsage.user + ownUsage.system) / 1000, postgresMs: pgNow === null || postgres === null ? null : pgNow - postgres };
    },
    stop(seconds: number) {
      const ownUsage = process.cpuUsage(self);
      profile.stop();
      const pgNow = postgresCpuMs(postmasterPid);
      return {
        seconds,
        machineMs: machineBusyMs() - machine,
        benchProcessMs: (ownUsage.user + ownUsage.system) / 1000,
        postgresMs: pgNow === null || postgres === null ? null : pgNow - postgres,
      };
    },
  };
}
export type CpuWindow = ReturnType<ReturnType<typeof startCpuWindow>['stop']>;

function machineBusyMs(): number {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    const total = fields.reduce((sum, value) => sum + value, 0);
    return ((total - idle) * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** A process's parent and the CPU it has used (user + system, clock ticks), from /proc/PID/stat; null once it has exited. */
function readStat(pid: number | string): { ppid: number; ticks: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may hold spaces: state, ppid, … utime (14th field), stime (15th).
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return null;
  }
}

/**
 * What a process has used so far: CPU (ms, user + system) and context switches, voluntary (it waited: I/O,
 * a lock) and involuntary (the scheduler took the core away); null once it has exited.
 */
export function processUsage(pid: number): { cpuMs: number; voluntarySwitches: number; involuntarySwitches: number } | null {
  const stat = readStat(pid);
  if (stat === null) return null;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { cpuMs: (stat.ticks * 1000) / CLOCK_TICKS, voluntarySwitches: field('voluntary_ctxt_switches'), involuntarySwitches: field('nonvoluntary_ctxt_switches') };
  } catch {
    return null;
  }
}

function postgresCpuMs(postmasterPid: number | null): number | null {
  if (postmasterPid === null) return null;
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(entry); // null: the process ended between readdir and read
    if (stat && (Number(entry) === postmasterPid || stat.ppid === postmasterPid)) ticks += stat.ticks;
  }
  return (ticks * 1000) / CLOCK_TICKS;
}
