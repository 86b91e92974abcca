import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * What a data directory's PostgreSQL says of itself, and whether a process is really there: read by the
 * embedded database (src/db/embedded.ts) and by the start-failure messages (src/startup-errors.ts).
 */

/** A server's own account of itself (`pg/postmaster.pid`: pid, data directory, start time, port, …). */
export interface PostmasterLock {
  pid: number;
  port: number;
  file: string;
}

export function readPostmasterLock(dataDir: string): PostmasterLock | null {
  const file = path.resolve(dataDir, 'pg', 'postmaster.pid');
  let lines: string[];
  try {
    lines = readFileSync(file, 'utf8').split('\n');
  } catch {
    return null;
  }
  return { pid: Number(lines[0]), port: Number(lines[3]), file };
}

/** Alive and not a zombie (a killed process nobody reaped still answers kill(pid, 0)). */
export function isProcessRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as { code?: string }).code !== 'EPERM') return false;
  }
  return processStatus(pid)?.state !== 'Z';
}

/** State letter and parent pid, from /proc (Linux) or ps; null where neither answers. */
export function processStatus(pid: number): { state: string; ppid: number } | null {
  try {
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: state!, ppid: Number(ppid) };
  } catch {
    try {
      const [state, ppid] = execFileSync('ps', ['-o', 'stat=,ppid=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        .trim()
        .split(/\s+/);
      return state ? { state: state[0]!, ppid: Number(ppid) } : null;
    } catch {
      return null;
    }
  }
}

