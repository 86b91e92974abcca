import { spawnSync } from 'node:child_process';

/**
 * A strict reader of the Prometheus text exposition format (0.0.4) and a linter with promtool's rules, for
 * tests. Written here because the npm parsers we looked at accept what Prometheus refuses (a duplicate TYPE,
 * a value that is not a number); where Debian's promtool is installed, `promtoolCheck` runs it as well.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface Family {
  name: string;
  help: string | null;
  type: MetricType;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES: Record<MetricType, string[]> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

/** Prometheus reads values with Go's ParseFloat: NaN and Inf in any case. */
function parseValue(raw: string, where: string): number {
  if (/^nan$/i.test(raw)) return Number.NaN;
  if (/^\+?inf$/i.test(raw)) return Number.POSITIVE_INFINITY;
  if (/^-inf$/i.test(raw)) return Number.NEGATIVE_INFINITY;
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(raw)) throw new Error(`${where}: "${raw}" is not a number`);
  return Number(raw);
}

/** `{a="x",b="y\"z"}` → labels; any deviation from the grammar throws. */
function parseLabels(text: string, where: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1;
  for (;;) {
    if (text[i] === '}') return { labels, rest: text.slice(i + 1) };
    const name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(text.slice(i))?.[0];
    if (!name || text[i + name.length] !== '=' || text[i + name.length + 1] !== '"') throw new Error(`${where}: bad label at "${text.slice(i)}"`);
    if (name.startsWith('__')) throw new Error(`${where}: label ${name} is reserved`);
    if (Object.hasOwn(labels, name)) throw new Error(`${where}: label ${name} twice`);
    i += name.length + 2;
    let value = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) throw new Error(`${where}: unterminated label value`);
      if (c === '"') break;
      if (c === '\\') {
        const next = text[i + 1];
        if (next === '\\' || next === '"') value += next;
        else if (next === 'n') value += '\n';
        else throw new Error(`${where}: bad escape \\${next}`);
        i += 2;
      } else {
        value += c;
        i += 1;
      }
    }
    labels[name] = value;
    i += 1;
    if (text[i] === ',') i += 1;
    else if (text[i] !== '}') throw new Error(`${where}: expected , or } after label ${name}`);
  }
}

/** Every line checked; families must be contiguous, each TYPE before its samples and only once. */
export function parseExposition(text: string): Family[] {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  const typed = new Set<string>();
  let current: Family | null = null;
  const familyOf = (name: string, where: string): Family => {
    let family = families.get(name);
    if (!family) {
      if (closed.has(name)) throw new Error(`${where}: family ${name} is not contiguous`);
      family = { name, help: null, type: 'untyped', samples: [] };
      families.set(name, family);
    }
    if (current && current !== family) closed.add(current.name);
    if (closed.has(name)) throw new Error(`${where}: family ${name} is not contiguous`);
    current = family;
    return family;
  };

  text.slice(0, -1).split('\n').forEach((line, index) => {
    const where = `line ${index + 1}`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const meta = new RegExp(`^# (HELP|TYPE) (${NAME})(?: (.*))?$`).exec(line);
      if (!meta) return; // a plain comment
      const [, kind, name, rest = ''] = meta;
      const family = familyOf(name!, where);
      if (kind === 'HELP') {
        if (family.help !== null) throw new Error(`${where}: second HELP for ${name}`);
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ''))) throw new Error(`${where}: bad escape in HELP of ${name}`);
        family.help = rest;
      } else {
        if (!TYPES.has(rest as MetricType)) throw new Error(`${where}: unknown type "${rest}"`);
        if (family.samples.length > 0 || typed.has(name!)) throw new Error(`${where}: TYPE of ${name} after its samples or twice`);
        typed.add(name!);
        family.type = rest as MetricType;
      }
      return;
    }
    const name = new RegExp(`^${NAME}`).exec(line)?.[0];
    if (!name) throw new Error(`${where}: not a sample: ${line}`);
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, where));
    const fields = /^ (\S+)(?: (-?\d+))?$/.exec(rest);
    if (!fields) throw new Error(`${where}: expected " value [timestamp]" after ${name}`);
    const value = parseValue(fields[1]!, `${where} (${line})`);
    // The sample's family: its own name, or the name without a histogram's or summary's suffix.
    const base = current && name.startsWith(current.name) ? current : null;
    const suffix = base ? name.slice(base.name.length) : '';
    const family = base && SUFFIXES[base.type].includes(suffix) ? base : familyOf(name, where);
    if (family.type === 'counter' && !(value >= 0)) throw new Error(`${where}: counter ${name} is ${value}`);
    const key = JSON.stringify([name, Object.entries(labels).sort()]);
    if (family.samples.some((sample) => JSON.stringify([sample.name, Object.entries(sample.labels).sort()]) === key)) {
      throw new Error(`${where}: ${name} with the same labels twice`);
    }
    family.samples.push({ name, labels, value });
  });

  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return [...families.values()];
}

/** Buckets rising in `le` with non-decreasing counts, a +Inf bucket equal to `_count`, for every label set. */
function checkHistogram(family: Family) {
  const series = new Map<string, { buckets: Array<[number, number]>; count?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (sample.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`${family.name}: a bucket without le`);
      entry.buckets.push([parseValue(le, family.name), sample.value]);
    } else if (sample.name.endsWith('_count')) entry.count = sample.value;
  }
  for (const [key, { buckets, count }] of series) {
    buckets.forEach(([le, value], i) => {
      if (i > 0 && (le <= buckets[i - 1]![0] || value < buckets[i - 1]![1])) throw new Error(`${family.name} ${key}: buckets out of order`);
    });
    const last = buckets.at(-1);
    if (!last || last[0] !== Number.POSITIVE_INFINITY || last[1] !== count) throw new Error(`${family.name} ${key}: +Inf bucket missing or not equal to _count`);
  }
}

/** promtool's `check metrics` rules (and ours: base units, help on every family), as a list of problems. */
export function lintFamilies(families: Family[]): string[] {
  const problems: string[] = [];
  for (const { name, help, type, samples } of families) {
    if (!help || help.trim() === '') problems.push(`${name}: no help text`);
    if (/[A-Z]/.test(name)) problems.push(`${name}: not snake_case`);
    if (type === 'counter' && !name.endsWith('_total')) problems.push(`${name}: a counter without the _total suffix`);
    if (type !== 'counter' && name.endsWith('_total')) problems.push(`${name}: _total on a ${type}`);
    if (/_(ms|msec|milliseconds|microseconds|nanoseconds|sec|secs|minutes|hours|kb|mb|kilobytes|megabytes)(_|$)/.test(name)) {
      problems.push(`${name}: not in base units (seconds, bytes)`);
    }
    if (/(duration|latency)/.test(name) && !name.endsWith('_seconds')) problems.push(`${name}: a duration not in _seconds`);
    for (const sample of samples) {
      for (const label of Object.keys(sample.labels)) if (!LABEL_NAME.test(label) || /[A-Z]/.test(label)) problems.push(`${name}: label ${label} not snake_case`);
    }
  }
  return problems;
}

/** `promtool check metrics` on the text, when Debian's prometheus package is installed; null when it is not. */
export function promtoolCheck(text: string): { status: number | null; output: string } | null {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
  if (run.error && (run.error as NodeJS.ErrnoException).code === 'ENOENT') return null;
  return { status: run.status, output: `${run.stdout ?? ''}${run.stderr ?? ''}`.trim() };
}
