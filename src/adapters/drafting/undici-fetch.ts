import { request, type Dispatcher } from 'undici';

/** Statuses whose response has no body: a `Response` given one would throw. */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * The openai SDK's `fetch` (its `fetch` option), over undici's `request`, the client our services' calls use.
 * Node's own `fetch` is undici too, under the WHATWG layers (streams, Request objects): through the SDK a chat
 * completion costs the caller ~0.7 ms of CPU that way against ~0.3 ms this way (docs/benchmarks.md, "The twelfth
 * pass"). What the SDK sends for a chat completion is a URL and a string body: those go this way, read whole
 * before the `Response` is built (so the SDK's timeout covers the body too); anything else (a stream, a form)
 * goes to the global `fetch` untouched. Like `fetch`, an abort rejects with an `AbortError`, which the SDK maps
 * to its timeout or abort error; unlike it, redirects are not followed (the API does not redirect).
 */
export const undiciFetch: typeof fetch = async (input, init) => {
  const body = init?.body;
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : null;
  if (url === null || (body != null && typeof body !== 'string')) return fetch(input, init);
  const response = await request(url, {
    method: (init?.method ?? 'GET') as Dispatcher.HttpMethod,
    headers: init?.headers === undefined ? undefined : init.headers instanceof Headers ? init.headers : new Headers(init.headers),
    body: body ?? undefined,
    signal: init?.signal ?? undefined,
  });
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    if (Array.isArray(value)) for (const one of value) headers.append(name, one);
    else if (value !== undefined) headers.append(name, value);
  }
  const text = await response.body.text();
  return new Response(NULL_BODY_STATUSES.has(response.statusCode) ? null : text, { status: response.statusCode, headers });
};
