import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Rejection } from '@sluice/core/http';
import {
  type AdmissionHooks,
  acquirePermits,
  ClientGoneError,
  RequestAdmission,
  tryAdmitNow,
} from './internal/admission.js';
import {
  clientAddress,
  httpRequest,
  httpResponse,
  rawResponse,
  setHeaders,
} from './internal/http.js';
import type { ResolvedConcurrency } from './internal/policies.js';
import { answerRejection, ClientClosedRequestException } from './internal/reject.js';
import { concurrencyPolicies, PolicyCache } from './internal/resolve.js';
import { seenByConcurrency } from './internal/seen.js';
import type { SluiceRequest } from './sluice.interfaces.js';
import { SluiceLimiters } from './sluice-limiters.js';

/**
 * Keeps the requests in flight within the limits `@Concurrency` and `SluiceModule` set. A guard
 * cannot see the handler finish, so it releases on the Node response's 'close' (Express `res`,
 * Fastify `reply.raw`): that fires on success, on an exception, on a later guard's refusal and
 * on a client abort. Use it with `@UseGuards(ConcurrencyGuard)` or as `APP_GUARD`; a request
 * that meets it twice is limited once. HTTP only: see `ConcurrencyInterceptor` for the rest.
 *
 * Subclass it to change `getKey`, `shouldSkip` or `onRejected`.
 *
 * @example
 * providers: [{ provide: APP_GUARD, useClass: ConcurrencyGuard }]
 */
@Injectable()
export class ConcurrencyGuard implements CanActivate {
  readonly #cache = new PolicyCache<ResolvedConcurrency>();

  constructor(
    @Inject(Reflector) protected readonly reflector: Reflector,
    @Inject(SluiceLimiters) protected readonly limiters: SluiceLimiters,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const req = httpRequest(context);
    const policies = this.getPolicies(context);
    if (policies.length === 0 || seenByConcurrency(req)) return true;
    const skip = this.shouldSkip(context);
    if (skip === true) return true;
    const res = httpResponse(context);
    // The close listener is in place before anything can wait.
    const admission = new RequestAdmission(rawResponse(res));
    if (skip === false && !admission.gone) {
      const headers = tryAdmitNow(policies, admission);
      if (headers !== false) {
        // Uncontended: every permit taken at once, nothing awaited.
        this.#admitted(req, res, admission, headers, 0);
        return true;
      }
    }
    return this.#admit(context, req, res, policies, admission, skip);
  }

  /** The limiters that apply to this handler, in the order they are taken. */
  protected getPolicies(context: ExecutionContext): ResolvedConcurrency[] {
    return this.#cache.get(context, () => concurrencyPolicies(context, this.limiters));
  }

  /** True lets the request through every limiter of this guard. Default: the handler's metadata decides. */
  protected shouldSkip(_context: ExecutionContext): boolean | Promise<boolean> {
    return false;
  }

  /** The key of a per-client limit: the limiter's `key(req)`, else the client address. */
  protected getKey(context: ExecutionContext, policy: ResolvedConcurrency): unknown {
    const req = httpRequest(context);
    return policy.options.key === undefined ? clientAddress(req) : policy.options.key(req);
  }

  /**
   * Answers a refusal. Default: the limiter's `onRejected` if it has one (which may throw its own
   * exception, or write the response and return); else Retry-After and RateLimit headers go on
   * the response and a `SluiceRejectedException` carries the rest to `SluiceRejectionFilter`.
   * Must throw (if it returns, the request is refused with `SluiceRejectedException` anyway).
   */
  protected async onRejected(
    context: ExecutionContext,
    rejection: Rejection,
    policy: ResolvedConcurrency,
  ): Promise<never> {
    return answerRejection(context, rejection, policy.options.onRejected);
  }

  // The hooks `acquirePermits` calls, made once per guard rather than per waiting request.
  readonly #hooks: AdmissionHooks = {
    getKey: (context, policy) => this.getKey(context, policy),
    reject: (context, rejection, policy) => this.onRejected(context, rejection, policy),
  };

  async #admit(
    context: ExecutionContext,
    req: SluiceRequest,
    res: unknown,
    policies: ResolvedConcurrency[],
    admission: RequestAdmission,
    skip: boolean | Promise<boolean>,
  ): Promise<boolean> {
    // A plain `false` (the default) needs no trip through the microtask queue.
    if (skip !== false && (await skip)) return true;
    const headers: Record<string, string> = {};
    let waitedMs: number;
    try {
      waitedMs = await acquirePermits(
        context,
        req,
        policies,
        admission.signal,
        admission.holding(),
        headers,
        this.#hooks,
      );
    } catch (error) {
      if (error instanceof ClientGoneError) throw new ClientClosedRequestException();
      throw error;
    }
    this.#admitted(req, res, admission, headers, waitedMs);
    return true;
  }

  #admitted(
    req: SluiceRequest,
    res: unknown,
    admission: RequestAdmission,
    headers: Record<string, string> | undefined,
    waitedMs: number,
  ): void {
    admission.admit(req, waitedMs);
    if (headers !== undefined && hasAny(headers) && !rawResponse(res).headersSent) {
      setHeaders(res, headers);
    }
  }
}

function hasAny(headers: Record<string, string>): boolean {
  for (const _ in headers) return true;
  return false;
}
