import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { studioDefinition } from '../machines/conversation/conversation.definition.js';
import { toMermaid } from '../machines/conversation/conversation.diagram.js';
import { conversationMachine } from '../machines/conversation/conversation.machine.js';

/**
 * `npm run machine:export`: writes the machine as a JSON definition Stately Studio can import
 * (docs/machine.definition.json; `createMachine(definition)` reads it back) and its Mermaid diagram
 * (docs/machine.mmd). Generated from the code; test/unit/machine-definition.test.ts checks they are current.
 */
const DOCS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../docs');
export const DEFINITION_FILE = path.join(DOCS, 'machine.definition.json');
export const MERMAID_FILE = path.join(DOCS, 'machine.mmd');

export function exportFiles() {
  return {
    [DEFINITION_FILE]: `${JSON.stringify(studioDefinition(conversationMachine), null, 2)}\n`,
    [MERMAID_FILE]: toMermaid(conversationMachine),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const [file, text] of Object.entries(exportFiles())) {
    writeFileSync(file, text);
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
  }
}
