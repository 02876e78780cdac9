import {
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Permit } from '@sluice/core';
import type { Rejection } from '@sluice/core/http';
import { defer, finalize, from, mergeMap, type Observable, tap } from 'rxjs';
import {
  type AdmissionHooks,
  acquirePermits,
  ClassifiedPermit,
  ClientGoneError,
  settleAll,
} from './internal/admission.js';
import { clientAddress, isClosed, rawResponse, setHeaders } from './internal/http.js';
import type { ResolvedConcurrency } from './internal/policies.js';
import { answerRejection, ClientClosedRequestException } from './internal/reject.js';
import { concurrencyPolicies, PolicyCache } from './internal/resolve.js';
import { seenByConcurrency } from './internal/seen.js';
import type { SluiceRequest } from './sluice.interfaces.js';
import { SluiceLimiters } from './sluice-limiters.js';

/**
 * The same limits as `ConcurrencyGuard`, held from before the handler runs until the
 * observable it returns settles (completes, errors or is unsubscribed), rather than until the
 * response closes. For contexts with no HTTP response (microservices, WebSockets, GraphQL
 * resolvers), and for HTTP routes that want the permit only while the handler works. A request
 * the guard already admitted passes through. Outside HTTP, `key`/`weight`/`skip` receive the
 * handler's first argument (the message data, the socket...).
 *
 * @example
 * @UseInterceptors(ConcurrencyInterceptor)
 * @Concurrency({ limit: 4 })
 * @MessagePattern('render') render(data: RenderJob) {}
 */
@Injectable()
export class ConcurrencyInterceptor implements NestInterceptor {
  readonly #cache = new PolicyCache<ResolvedConcurrency>();

  constructor(
    @Inject(Reflector) protected readonly reflector: Reflector,
    @Inject(SluiceLimiters) protected readonly limiters: SluiceLimiters,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const isHttp = context.getType() === 'http';
    const req = (
      isHttp ? context.switchToHttp().getRequest() : context.getArgByIndex(0)
    ) as SluiceRequest;
    const policies = this.getPolicies(context);
    if (policies.length === 0 || (isHttp && seenByConcurrency(req))) return next.handle();

    const controller = new AbortController();
    const held: Permit[] = [];
    const releaseAll = (): void => {
      for (const permit of held.splice(0)) permit.release();
    };
    const res = isHttp ? context.switchToHttp().getResponse() : undefined;
    if (res !== undefined) {
      // A client that leaves while queued leaves the queue; one in flight aborts `req.sluice.signal`.
      const raw = rawResponse(res);
      const onClose = (): void => {
        if (!raw.writableFinished) {
          controller.abort(new DOMException('The client closed the connection', 'AbortError'));
        }
      };
      raw.once('close', onClose);
      if (isClosed(raw)) onClose();
    }

    const admit = async (): Promise<void> => {
      if (await this.shouldSkip(context)) return;
      const headers: Record<string, string> = {};
      let waitedMs: number;
      try {
        waitedMs = await acquirePermits(
          context,
          req,
          policies,
          controller.signal,
          held,
          headers,
          this.#hooks,
        );
      } catch (error) {
        releaseAll();
        if (error instanceof ClientGoneError) throw new ClientClosedRequestException();
        throw error;
      }
      if (res !== undefined) {
        if (!rawResponse(res).headersSent) setHeaders(res, headers);
        req.sluice = { signal: controller.signal, waitedMs };
      }
    };
    // How the handler ended, for an adaptive limit: its error (an HttpException's status), or
    // the response's status as far as it is set.
    let failure: unknown;
    const outcome = () => ({
      status:
        failure === undefined
          ? ((res === undefined ? undefined : rawResponse(res).statusCode) ?? 200)
          : typeof (failure as { getStatus?: unknown }).getStatus === 'function'
            ? (failure as { getStatus(): number }).getStatus()
            : 500,
      error: failure,
      clientLeft: controller.signal.aborted,
    });
    const noteFailure = (error: unknown): void => {
      failure = error;
    };
    return defer(() => from(admit())).pipe(
      mergeMap(() => {
        const handled = next.handle();
        // Only an adaptive limit needs to know how the handler ended.
        return held.some(isClassified) ? handled.pipe(tap({ error: noteFailure })) : handled;
      }),
      finalize(() => settleAll(held, outcome)),
    );
  }

  // The hooks `acquirePermits` calls, made once per interceptor rather than per call.
  readonly #hooks: AdmissionHooks = {
    getKey: (context, policy) => this.getKey(context, policy),
    reject: (context, rejection, policy) => this.onRejected(context, rejection, policy),
  };

  /** The limiters that apply to this handler, in the order they are taken. */
  protected getPolicies(context: ExecutionContext): ResolvedConcurrency[] {
    return this.#cache.get(context, () => concurrencyPolicies(context, this.limiters));
  }

  /** True lets the call through every limiter. */
  protected shouldSkip(_context: ExecutionContext): boolean | Promise<boolean> {
    return false;
  }

  /** The key of a per-client limit: the limiter's `key(req)`, else the client address. */
  protected getKey(context: ExecutionContext, policy: ResolvedConcurrency): unknown {
    const req = (
      context.getType() === 'http' ? context.switchToHttp().getRequest() : context.getArgByIndex(0)
    ) as SluiceRequest;
    return policy.options.key === undefined ? clientAddress(req ?? {}) : policy.options.key(req);
  }

  /** Answers a refusal; see `ConcurrencyGuard#onRejected`. Must throw. */
  protected async onRejected(
    context: ExecutionContext,
    rejection: Rejection,
    policy: ResolvedConcurrency,
  ): Promise<never> {
    return answerRejection(context, rejection, policy.options.onRejected);
  }
}

function isClassified(permit: Permit): boolean {
  return permit instanceof ClassifiedPermit;
}
