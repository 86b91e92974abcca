import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Docker has no engine on the machines we build on, so the image is never built here: what can be checked
 * without building is checked against package.json and the tree instead.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
  scripts: Record<string, string>;
};

describe('Dockerfile', () => {
  it("when the image is built, then every stage runs the same Node major as the project's own (the npm package `node`)", () => {
    const stages = [...dockerfile.matchAll(/^FROM node:(\d+)-/gm)].map((match) => match[1]);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const major = pkg.devDependencies.node!.split('.')[0];
    expect(new Set(stages)).toEqual(new Set([major]));
  });

  it('when the build stage copies sources, then each one exists, and the command it starts is what the build emits', () => {
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((match) => match[1]!.split(/\s+/));
    expect(copied.length).toBeGreaterThan(5);
    for (const source of copied) expect({ source, exists: existsSync(path.join(ROOT, source)) }).toEqual({ source, exists: true });
    // CMD ["node", "dist/src/main.js"]: tsc emits dist/<path>.js for <path>.ts.
    const entry = /^CMD \["node", "dist\/(.+)\.js"\]$/m.exec(dockerfile)?.[1];
    expect(entry).toBe('src/main');
    expect(existsSync(path.join(ROOT, `${entry}.ts`))).toBe(true);
    expect(pkg.scripts.build).toContain('tsconfig.build.json');
  });
});
