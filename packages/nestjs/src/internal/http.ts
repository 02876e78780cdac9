// What differs between the Express and the Fastify platform, in one place. The guards receive
// Express's `req`/`res`, or Fastify's `FastifyRequest`/`FastifyReply` (whose Node objects are
// `.raw`).

import type { ArgumentsHost } from '@nestjs/common';
import type { SluiceRequest } from '../sluice.interfaces.js';

/** The Node `ServerResponse` surface the guards use. */
export interface RawResponse {
  readonly destroyed: boolean;
  readonly closed?: boolean;
  readonly writableFinished: boolean;
  readonly headersSent: boolean;
  readonly statusCode: number;
  on(event: 'close', listener: () => void): unknown;
  once(event: 'close', listener: () => void): unknown;
  setHeader(name: string, value: string): unknown;
}

function isFastifyReply(res: any): boolean {
  return typeof res?.raw === 'object' && res.raw !== null && typeof res.header === 'function';
}

/** The Node response under the platform's response object. */
export function rawResponse(res: any): RawResponse {
  return (isFastifyReply(res) ? res.raw : res) as RawResponse;
}

/** True once the response's 'close' has fired (client gone, or the answer already written). */
export function isClosed(raw: RawResponse): boolean {
  return raw.closed === true || raw.destroyed;
}

/**
 * Sets headers through the platform's own response object, so that they go out with whatever
 * the platform writes next (Fastify keeps its reply headers apart from the Node response's).
 */
export function setHeaders(res: any, headers: Record<string, string>): void {
  const fastify = isFastifyReply(res);
  for (const name in headers) {
    const value = headers[name] as string;
    if (fastify) res.header(name, value);
    else res.setHeader(name, value);
  }
}

/** The client address as the platform resolves it (honouring its trust-proxy setting). */
export function clientAddress(req: SluiceRequest): string {
  const ip = req.ip ?? req.socket?.remoteAddress ?? req.raw?.socket?.remoteAddress;
  return typeof ip === 'string' ? ip : 'unknown';
}

/** Joins several RateLimit header sets: a field that appears twice becomes a list. */
export function mergeHeaders(
  into: Record<string, string>,
  from: Record<string, string> | undefined,
): Record<string, string> {
  if (from === undefined) return into;
  for (const name in from) {
    const value = from[name] as string;
    const prev = into[name];
    into[name] = prev === undefined ? value : `${prev}, ${value}`;
  }
  return into;
}

// An HTTP context's arguments are [request, response, next]. Reading them by index spares the
// per-call cost of `switchToHttp()`, which assigns three fresh closures onto the context.

/** The platform's request object of an HTTP execution context. */
export function httpRequest<T = SluiceRequest>(context: ArgumentsHost): T {
  return context.getArgByIndex<T>(0);
}

/** The platform's response object of an HTTP execution context. */
export function httpResponse<T = unknown>(context: ArgumentsHost): T {
  return context.getArgByIndex<T>(1);
}
