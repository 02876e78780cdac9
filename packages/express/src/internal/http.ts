import type { ServerResponse } from 'node:http';
import type { Rejection } from '@sluice/core/http';

export function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<T>).then === 'function'
  );
}

/**
 * Writes a rejection exactly as `@sluice/core/http` computed it. Plain Node calls rather than
 * `res.send`, which would append `; charset=utf-8` to the problem+json Content-Type.
 */
export function writeRejection(res: ServerResponse, answer: Rejection): void {
  if (res.headersSent || res.writableEnded) return;
  res.statusCode = answer.status;
  for (const name in answer.headers) res.setHeader(name, answer.headers[name]!);
  res.end(JSON.stringify(answer.body));
}

export function setHeaders(res: ServerResponse, headers: Record<string, string>): void {
  if (res.headersSent) return;
  for (const name in headers) res.setHeader(name, headers[name]!);
}
