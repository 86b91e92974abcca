/**
 * docs/benchmarks.md holds one section per benchmark, each between `<!-- bench:<name> -->` and
 * `<!-- /bench:<name> -->`; a run replaces its own section and keeps the others.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export function writeSection(file: string, name: string, body: string) {
  const open = `<!-- bench:${name} -->`;
  const close = `<!-- /bench:${name} -->`;
  const section = `${open}\n${body.trim()}\n${close}`;
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const start = current.indexOf(open);
  const end = current.indexOf(close);
  let next: string;
  if (start >= 0 && end > start) next = current.slice(0, start) + section + current.slice(end + close.length);
  else if (current.includes('<!-- bench:')) next = `${current.trimEnd()}\n\n${section}\n`;
  else next = `${section}\n`; // an old report without sections is replaced
  writeFileSync(file, next.endsWith('\n') ? next : `${next}\n`);
}
