// Taking the permits of a request, shared by ConcurrencyGuard and ConcurrencyInterceptor.

import type { ExecutionContext } from '@nestjs/common';
import type { AdaptivePermit, Permit } from '@sluice/core';
import {
  type ClassifyOutcome,
  isAdaptivePermit,
  type Rejection,
  type RequestOutcome,
  rejection,
  rejectionReasonOf,
  returnUnused,
  settlePermit,
} from '@sluice/core/http';
import type { SluiceRequest, SluiceRequestInfo } from '../sluice.interfaces.js';
import { SluiceRejectedException } from '../sluice-rejected.exception.js';
import { isClosed, mergeHeaders, type RawResponse } from './http.js';
import type { ResolvedConcurrency } from './policies.js';

/**
 * What the admission needs from the guard or interceptor: its overridable hooks. Made once per
 * guard or interceptor, the context passed along, so that a request that waits allocates none.
 */
export interface AdmissionHooks {
  getKey(context: ExecutionContext, policy: ResolvedConcurrency): unknown;
  /** Should throw; if it returns, the request is stopped with SluiceRejectedException anyway. */
  reject(context: ExecutionContext, rejection: Rejection, policy: ResolvedConcurrency): unknown;
}

/** Raised when the client went away while the request waited: nothing is to be written. */
export class ClientGoneError extends Error {
  constructor() {
    super('The client closed the connection before the request was admitted');
    this.name = 'ClientGoneError';
  }
}

function goneReason(): DOMException {
  return new DOMException('The client closed the connection', 'AbortError');
}

/** `req.sluice`: the signal is made on first read (most handlers never read it). */
class AdmittedRequest implements SluiceRequestInfo {
  readonly #admission: RequestAdmission;
  readonly waitedMs: number;

  constructor(admission: RequestAdmission, waitedMs: number) {
    this.#admission = admission;
    this.waitedMs = waitedMs;
  }

  get signal(): AbortSignal {
    return this.#admission.signal;
  }
}

/**
 * An adaptive permit held with the `classify` of its limit. `release()` is for a request that
 * never ran (a later limit refused it, the client left): no sample. `settle(outcome)` is for
 * one that did. Made only for adaptive permits: a plain one is held as it is.
 */
export class ClassifiedPermit implements Permit {
  readonly #permit: AdaptivePermit;
  readonly #classify: ClassifyOutcome | undefined;

  constructor(permit: AdaptivePermit, classify: ClassifyOutcome | undefined) {
    this.#permit = permit;
    this.#classify = classify;
  }

  get weight(): number {
    return this.#permit.weight;
  }

  get released(): boolean {
    return this.#permit.released;
  }

  release(): void {
    this.#permit.ignore();
  }

  settle(outcome: RequestOutcome): void {
    settlePermit(this.#permit, outcome, this.#classify);
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

/** What `held` keeps of a permit of `policy`. */
function holding(permit: Permit, policy: ResolvedConcurrency): Permit {
  return isAdaptivePermit(permit) ? new ClassifiedPermit(permit, policy.options.classify) : permit;
}

/** Gives back the permits of a request that ran, each by how it ended (adaptive ones). */
export function settleAll(held: Permit[], outcome: () => RequestOutcome): void {
  let ended: RequestOutcome | undefined;
  for (const permit of held.splice(0)) {
    if (permit instanceof ClassifiedPermit) {
      ended ??= outcome();
      permit.settle(ended);
    } else {
      permit.release();
    }
  }
}

/**
 * The permits of one HTTP request, released on the Node response's 'close' (which fires once,
 * on every path). The AbortController is made only when something needs the signal (a wait, or
 * the handler reading `req.sluice.signal`), so the uncontended path allocates none.
 */
export class RequestAdmission {
  /**
   * The permits taken, made with the first one: `[permit]` is an array of one, where pushing
   * into an empty `[]` would allocate room for sixteen on every request.
   */
  held: Permit[] | undefined;
  readonly #raw: RawResponse;
  #controller: AbortController | undefined;
  #gone = false;
  #admitted = false;

  constructor(raw: RawResponse) {
    this.#raw = raw;
    // 'close' fires once: `on` spares the wrapper `once` would make.
    raw.on('close', () => this.#onClose());
    if (isClosed(raw)) this.#onClose();
  }

  /** Aborts when the client goes away before the response is finished. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#gone) this.#controller.abort(goneReason());
    }
    return this.#controller.signal;
  }

  get gone(): boolean {
    return this.#gone;
  }

  /** The array to take permits into (`acquirePermits`' `held`). */
  holding(): Permit[] {
    if (this.held === undefined) this.held = [];
    return this.held;
  }

  /** Marks the request admitted and gives the handler its `req.sluice`. */
  admit(req: SluiceRequest, waitedMs: number): void {
    this.#admitted = true;
    req.sluice = new AdmittedRequest(this, waitedMs);
  }

  #onClose(): void {
    // A finished response closing is not a client going away (unless it closed mid-wait).
    if (!this.#admitted || !this.#raw.writableFinished) {
      this.#gone = true;
      this.#controller?.abort(goneReason());
    }
    const held = this.held;
    if (held === undefined) return;
    if (!this.#admitted) {
      // The request never ran: nothing to learn from it.
      for (let i = 0; i < held.length; i++) (held[i] as Permit).release();
      return;
    }
    for (let i = 0; i < held.length; i++) {
      const permit = held[i] as Permit;
      if (permit instanceof ClassifiedPermit) {
        // A guard sees the response, not the handler's exception: the status tells.
        permit.settle({ status: this.#raw.statusCode, clientLeft: this.#gone });
      } else {
        permit.release();
      }
    }
  }
}

/**
 * Takes a permit of every policy at once, without awaiting, if all are plain and free. Then all
 * are in `admission.held`, and it returns the RateLimit headers of the limits that send them (`undefined`
 * when none does: no record is made). `false`: nothing is held (what was taken went back) and
 * the caller waits.
 */
export function tryAdmitNow(
  policies: readonly ResolvedConcurrency[],
  admission: RequestAdmission,
): Record<string, string> | undefined | false {
  let headers: Record<string, string> | undefined;
  for (let i = 0; i < policies.length; i++) {
    const policy = policies[i] as ResolvedConcurrency;
    const permit = policy.plain ? policy.tryAcquire(undefined, 1) : undefined;
    if (permit === undefined) {
      const held = admission.held;
      if (held !== undefined) for (const p of held.splice(0)) p.release();
      return false;
    }
    // In `admission.held` at once, so that the close listener gives it back whatever follows.
    if (admission.held === undefined) admission.held = [holding(permit, policy)];
    else admission.held.push(holding(permit, policy));
    if (policy.headers) {
      const values = policy.headerValues(undefined);
      if (values !== undefined) headers = mergeHeaders(headers ?? {}, values);
    }
  }
  return headers;
}

/**
 * Acquires a permit of every policy in turn, pushing each into `held` as soon as it is granted
 * (whoever owns `held` releases them), and the RateLimit headers of the limits that send them
 * into `headers`. Resolves the milliseconds spent waiting. On a refusal it releases what it
 * took and hands the rejection to `hooks.reject` (it never resolves then); when `signal`
 * aborts it releases and throws ClientGoneError.
 */
export async function acquirePermits(
  context: ExecutionContext,
  req: SluiceRequest,
  policies: readonly ResolvedConcurrency[],
  signal: AbortSignal,
  held: Permit[],
  headers: Record<string, string>,
  hooks: AdmissionHooks,
): Promise<number> {
  const started = performance.now();
  for (const policy of policies) {
    const { skip, weight } = policy.options;
    if (skip !== undefined && (await skip(req))) continue;
    const key = policy.keyed ? await hooks.getKey(context, policy) : undefined;
    const w = weight === undefined ? 1 : await weight(req);
    if (signal.aborted) throw new ClientGoneError();
    let permit: Permit;
    try {
      permit = await policy.acquire(key, w, signal);
    } catch (error) {
      const reason = rejectionReasonOf(error);
      if (signal.aborted) throw new ClientGoneError();
      if (reason === undefined) throw error;
      for (const p of held.splice(0)) p.release();
      const refused = rejection({
        reason,
        scope: policy.keyed ? 'client' : 'shared',
        retryAfterMs: policy.retryAfter * 1000,
        ...(policy.headers ? { headers: policy.headerValues(key) } : {}),
      });
      await hooks.reject(context, refused, policy);
      // A hook that returned instead of throwing must still not let the request in.
      throw new SluiceRejectedException(refused);
    }
    // The close listener may have run between the grant and now (a remote limiter may even
    // grant after the client left): this one is given back at once, unused.
    if (signal.aborted) {
      returnUnused(permit);
      throw new ClientGoneError();
    }
    held.push(holding(permit, policy));
    if (policy.headers) mergeHeaders(headers, policy.headerValues(key));
  }
  return performance.now() - started;
}
