import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { createLogger, terminalDestination } from '../../src/logger.js';

/** `npm start` at a terminal prints readable lines; piped or collected, JSON lines. Redaction applies to both. */
describe('log lines for a terminal', () => {
  it('when stdout is not a TTY, then the default JSON destination is kept', async () => {
    expect(await terminalDestination({ isTTY: false })).toBeUndefined();
    expect(await terminalDestination({})).toBeUndefined();
  });

  it('when stdout is a TTY, then each entry is one readable line (level, message, fields), numbers still redacted', async () => {
    let text = '';
    const output = new Writable({
      write(chunk, _encoding, done) {
        text += chunk.toString();
        done();
      },
    });
    const destination = await terminalDestination({ isTTY: true }, output);
    expect(destination).toBeDefined();
    const logger = createLogger({ level: 'info', destination });
    logger.info({ conversationId: 'conv-tty-1', phone: '+15550001111' }, 'ready at http://127.0.0.1:8000');
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO \(orchestrator\): ready at http:\/\/127\.0\.0\.1:8000 /);
    expect(lines[0]).toContain('"conversationId":"conv-tty-1"');
    expect(text).not.toContain('5550001111');
    expect(() => JSON.parse(lines[0]!)).toThrow();
  });
});
