/** A zone name the runtime knows ("America/Chicago"). Unknown names are treated as no zone, never guessed. */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
