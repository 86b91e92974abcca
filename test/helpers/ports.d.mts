/** Types of ports.mjs (plain ESM, shared with the global setup). */
export function freePort(): Promise<number>;
export function portToBindAgain(): Promise<number>;
