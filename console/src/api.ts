/**
 * The console's only way to the service: the public API, with the token the manager signed in with (kept in
 * this tab's sessionStorage, gone when the tab closes). Errors keep the API's code and details.
 */
const TOKEN_KEY = 'collections-console.token';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: any,
  ) {
    super(message);
  }
}

let token: string | null = sessionStorage.getItem(TOKEN_KEY);
const listeners = new Set<() => void>();

export const currentToken = () => token;

export function setToken(value: string | null) {
  token = value;
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
  for (const listener of listeners) listener();
}

export function onTokenChange(listener: () => void) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The token's subject and expiry, read (not verified: the API does that) to show who is signed in. */
export function tokenClaims(value: string | null): { sub?: string; exp?: number; role?: string } {
  try {
    const payload = value?.split('.')[1];
    return payload ? JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) : {};
  } catch {
    return {};
  }
}

export async function api<T = any>(method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}, bearer = token): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: {
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const error = data?.error ?? {};
    // A token that expired or was revoked: back to the sign-in page.
    if (response.status === 401 && bearer === token) setToken(null);
    throw new ApiError(response.status, error.code ?? 'http_error', error.message ?? `HTTP ${response.status}`, error.details);
  }
  return data as T;
}

/** A fresh idempotency key for one click: a retry of that click (network) reuses it, a new click does not. */
export const clickKey = (what: string) => `console-${what}-${crypto.randomUUID()}`;
