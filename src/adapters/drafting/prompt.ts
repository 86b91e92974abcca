/**
 * The drafter's system prompt is a versioned file (prompts/drafter.vN.md), not a literal in code: a change
 * to it is a new file and a new PROMPT_VERSION, recorded with every draft it produced.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROMPT_VERSION = 'drafter.v3';
const PROMPT_FILE = `${PROMPT_VERSION}.md`;

/**
 * Walks up from this module to the first `prompts/` folder that has the file, so the same code finds it
 * from src/ (tsx, jest) and from dist/src/ (the build, which does not copy prompts/).
 */
function locatePrompt(): string {
  let directory = path.dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 8; depth += 1) {
    const candidate = path.join(directory, 'prompts', PROMPT_FILE);
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(directory);
    if (parent === directory) break;
    directory = parent;
  }
  throw new Error(`prompt file prompts/${PROMPT_FILE} not found above ${fileURLToPath(import.meta.url)}`);
}

let template: string | undefined;

/** The raw template, read from disk on first use and kept. */
export function loadDrafterPrompt(): string {
  template ??= readFileSync(locatePrompt(), 'utf8');
  return template;
}

export interface PromptValues {
  language_name: string;
  max_length: string;
  footer: string;
  intents: string;
}

/** Fills the `{{placeholders}}`; an unknown or missing one is a bug in this module or the file, so it throws. */
export function renderDrafterPrompt(values: PromptValues): string {
  return loadDrafterPrompt().replace(/\{\{(\w+)\}\}/g, (_match, key: string) => {
    const value = (values as unknown as Record<string, string | undefined>)[key];
    if (value === undefined) throw new Error(`prompt ${PROMPT_VERSION} uses an unknown placeholder {{${key}}}`);
    return value;
  });
}
