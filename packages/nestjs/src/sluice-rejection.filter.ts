import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import { throwError } from 'rxjs';
import { rawResponse } from './internal/http.js';
import { ClientClosedRequestException } from './internal/reject.js';
import { SluiceRejectedException } from './sluice-rejected.exception.js';

function isFastifyReply(res: any): boolean {
  return typeof res?.raw === 'object' && res.raw !== null && typeof res.code === 'function';
}

/**
 * Writes the refusals of the sluice guards and interceptor: status, headers and the
 * problem+json body, once. `SluiceModule` registers it globally (`APP_FILTER`); it catches
 * nothing but `SluiceRejectedException`.
 *
 * Why a filter of its own: Nest's default filter replies through the platform adapter, and
 * Nest 11's Express adapter turns any non-JSON Content-Type of an error reply into
 * `application/json`. This filter writes the body itself, so `application/problem+json`
 * survives on Express and Fastify, on Nest 11 and 12. A filter of yours for
 * `SluiceRejectedException` on a controller or route, or a global one added with
 * `useGlobalFilters`, is tried first; it can use `exception.rejection`, or call this filter.
 */
@Catch(SluiceRejectedException, ClientClosedRequestException)
export class SluiceRejectionFilter implements ExceptionFilter {
  catch(
    exception: SluiceRejectedException | ClientClosedRequestException,
    host: ArgumentsHost,
  ): unknown {
    if (host.getType() !== 'http') {
      // Microservices and gateways: the error the transport sends back is the problem body.
      const error =
        exception instanceof SluiceRejectedException ? exception.rejection.body : exception;
      return throwError(() => error);
    }
    const res = host.switchToHttp().getResponse();
    const raw = rawResponse(res) as ReturnType<typeof rawResponse> & {
      statusCode: number;
      writableEnded: boolean;
      end(body?: string): void;
    };
    // The client is gone, or onRejected wrote the answer itself: nothing more to write.
    if (exception instanceof ClientClosedRequestException || raw.headersSent) {
      if (!raw.writableEnded) raw.end();
      return undefined;
    }
    const { status, headers, body } = exception.rejection;
    const payload = JSON.stringify(body);
    if (isFastifyReply(res)) {
      // Through the reply, so Fastify's onSend/onResponse hooks see it.
      res.code(status);
      for (const name in headers) res.header(name, headers[name]);
      // A Buffer, so Fastify adds no charset: the same Content-Type as on Express.
      return res.send(Buffer.from(payload));
    }
    raw.statusCode = status;
    for (const name in headers) raw.setHeader(name, headers[name] as string);
    raw.end(payload);
    return undefined;
  }
}
