// Answering a refused request, shared by the guards and the interceptor.

import { type ExecutionContext, HttpException } from '@nestjs/common';
import type { Rejection } from '@sluice/core/http';
import { SluiceRejectedException } from '../sluice-rejected.exception.js';
import { rawResponse, setHeaders } from './http.js';

/**
 * The default answer: the limiter's `onRejected` first if it has one (it may throw its own
 * exception, or write the response and return); then a SluiceRejectedException, which
 * SluiceRejectionFilter writes. Retry-After and RateLimit headers go on the response already,
 * so that a filter of the application's own that answers the exception keeps them; the
 * Content-Type is left to whoever writes the body.
 */
export async function answerRejection(
  context: ExecutionContext,
  rejection: Rejection,
  onRejected: ((context: ExecutionContext, rejection: Rejection) => unknown) | undefined,
): Promise<never> {
  if (onRejected !== undefined) await onRejected(context, rejection);
  if (context.getType() === 'http') {
    const res = context.switchToHttp().getResponse();
    if (!rawResponse(res).headersSent) {
      const { 'Content-Type': _, ...headers } = rejection.headers;
      setHeaders(res, headers);
    }
  }
  throw new SluiceRejectedException(rejection);
}

/**
 * Ends a request whose client left while it waited. Its socket is gone: SluiceRejectionFilter
 * writes nothing for it (and another filter's answer would reach nobody).
 */
export class ClientClosedRequestException extends HttpException {
  constructor() {
    super({ statusCode: 499, message: 'Client Closed Request' }, 499);
  }
}
