// How an adapter gives back the permit of an adaptive limiter (AdaptiveSemaphore, or any limiter
// whose permits have `drop()` and `ignore()`): the way a request ended is a sample of the
// downstream's health. Shared by the three adapters so that they classify alike.

import { reportListenerError } from '../internal/event-hub.js';
import type { AdaptivePermit, Permit } from '../types.js';
import { describeValue } from './options.js';

/** How one admitted request ended, as the adapter saw it. */
export interface RequestOutcome {
  /** The response status (as far as it is known when the permit returns). */
  status: number;
  /** What the handler threw, when the adapter can see it (Hono, Nest's interceptor). */
  error?: unknown;
  /** The client went away before the response was finished. */
  clientLeft: boolean;
}

/**
 * What the outcome means to an adaptive limit: `success` (a latency sample: `release()`), `drop`
 * (overload seen: `drop()`) or `ignore` (no sample: `ignore()`).
 */
export type OutcomeClass = 'success' | 'drop' | 'ignore';

/** The `classify` option of `concurrency(...)`: overrides `classifyOutcome`. */
export type ClassifyOutcome = (outcome: RequestOutcome) => OutcomeClass;

/**
 * The default classification: a client that left is `ignore` (its timing says nothing about the
 * server); a handler that threw a `TimeoutError` (code `TIMEOUT`), or a response ended with 503
 * or 504, is `drop`; anything else, errors included, is `success`.
 */
export function classifyOutcome(outcome: RequestOutcome): OutcomeClass {
  if (outcome.clientLeft) return 'ignore';
  const { error, status } = outcome;
  if (
    typeof error === 'object' &&
    error !== null &&
    (error as { code?: unknown }).code === 'TIMEOUT'
  ) {
    return 'drop';
  }
  return status === 503 || status === 504 ? 'drop' : 'success';
}

/** True for a permit of an adaptive limiter (it has `drop()` and `ignore()`). */
export function isAdaptivePermit(permit: Permit): permit is AdaptivePermit {
  return (
    typeof (permit as Partial<AdaptivePermit>).drop === 'function' &&
    typeof (permit as Partial<AdaptivePermit>).ignore === 'function'
  );
}

/**
 * Gives back a permit whose request ended with `outcome`: an adaptive one by its class
 * (`classify`, default `classifyOutcome`), any other by `release()`. The permit returns even
 * when `classify` throws or answers something else: then as `ignore()`, and the error goes to
 * `reportError` (or the console). Adapters call this from a response's 'close' listener, where
 * a throw would be an uncaught exception that takes the server down for a bug in a callback.
 */
export function settlePermit(
  permit: Permit,
  outcome: RequestOutcome,
  classify: ClassifyOutcome = classifyOutcome,
): void {
  if (!isAdaptivePermit(permit)) {
    permit.release();
    return;
  }
  let verdict: unknown;
  try {
    verdict = classify(outcome);
  } catch (error) {
    permit.ignore();
    reportListenerError(error);
    return;
  }
  if (verdict === 'success') permit.release();
  else if (verdict === 'drop') permit.drop();
  else if (verdict === 'ignore') permit.ignore();
  else {
    permit.ignore();
    reportListenerError(
      new TypeError(
        `Expected \`classify\` to return "success", "drop" or "ignore", got ${describeValue(verdict)}`,
      ),
    );
  }
}

/**
 * Gives back a permit whose request never ran (the client left as it was granted, or a later
 * limit refused): `ignore()` for an adaptive one, whose limit must not learn from it.
 */
export function returnUnused(permit: Permit): void {
  if (isAdaptivePermit(permit)) permit.ignore();
  else permit.release();
}
