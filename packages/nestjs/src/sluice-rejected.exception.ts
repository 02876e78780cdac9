import { HttpException } from '@nestjs/common';
import type { Rejection } from '@sluice/core/http';

/**
 * Thrown by the guards (and the interceptor) when a limit refuses a request. Its response is
 * the problem+json body and its status the rejection's (503 or 429); `SluiceRejectionFilter`
 * writes it. `rejection` is the whole answer (`{ status, reason, retryAfter, headers, body }`)
 * for a filter of your own.
 */
export class SluiceRejectedException extends HttpException {
  readonly rejection: Rejection;

  constructor(rejection: Rejection) {
    super(rejection.body, rejection.status, { description: rejection.body.title });
    this.rejection = rejection;
  }
}
