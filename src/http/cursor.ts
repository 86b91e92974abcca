import { badRequest } from '../errors.js';
import { findUnsafeCharacter } from '../text/text.js';

/**
 * Opaque page cursors: base64url JSON of where the last page ended. A crafted cursor decodes to anything,
 * and its values go into SQL, so each must be a string of an id's length and valid text; anything else is
 * the same 400.
 */
export function encodeCursor(position: Record<string, string>): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

export function decodeCursor<K extends string>(cursor: string, keys: readonly K[], timestamps: readonly K[] = []): Record<K, string> {
  try {
    const decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
    const position = {} as Record<K, string>;
    for (const key of keys) {
      const value = decoded?.[key];
      if (typeof value !== 'string' || value.length === 0 || value.length > 200 || findUnsafeCharacter(value)) throw new Error('shape');
      // A position the database compares as a timestamp: garbage there would be its error (a 500), not ours.
      if (timestamps.includes(key) && Number.isNaN(Date.parse(value))) throw new Error('shape');
      position[key] = value;
    }
    return position;
  } catch {
    throw badRequest('the cursor is not one we gave out', [{ path: 'cursor', message: 'invalid' }]);
  }
}
