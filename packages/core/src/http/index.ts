// @sluice/core/http: the HTTP answer to a refused request, computed once as plain data so that
// every adapter writes out the same status, headers and problem+json body (RFC 9457).

/** Why a request was refused; stable, machine-readable, also the `reason` member of the body. */
export type RejectionReason =
  | 'queue_full'
  | 'queue_timeout'
  | 'rate_limited'
  | 'closed'
  | 'unavailable';

/** Which limit refused: one shared by everybody (503) or one of this client's own (429). */
export type RejectionScope = 'shared' | 'client';

/** An RFC 9457 problem details object, with sluice's `reason` extension member. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  reason: RejectionReason;
  /** Seconds until a retry makes sense; the same number as the `Retry-After` header. */
  retryAfter: number;
}

/** Everything an adapter needs to answer a refused request. */
export interface Rejection {
  status: number;
  reason: RejectionReason;
  /** Whole seconds, at least 1: the `Retry-After` header. */
  retryAfter: number;
  /** Header names in their canonical case; includes `Content-Type` and `Retry-After`. */
  headers: Record<string, string>;
  body: ProblemDetails;
}

/** A quota policy as the IETF RateLimit headers draft describes it. */
export interface RateLimitPolicy {
  /** Policy name, a token: letters, digits and `_-.` (quoted in the header). */
  name: string;
  /** Quota: requests per window, or concurrent requests. */
  quota: number;
  /** Window in seconds; omitted for a concurrency policy. */
  windowSeconds?: number;
  /**
   * Quota unit (the draft's `qu`): `concurrent-requests` for an in-flight limit, or `request`,
   * the draft's default, which is therefore not written out.
   */
  unit?: 'request' | 'concurrent-requests';
}

/** Where a client stands against a policy right now. */
export interface RateLimitState {
  /** Quota units left (never negative). */
  remaining: number;
  /** Seconds until the quota is restored enough to matter (rounded up, >= 0). */
  resetSeconds: number;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

const TITLES: Record<RejectionReason, string> = {
  queue_full: 'Too many requests waiting',
  queue_timeout: 'Timed out waiting for capacity',
  rate_limited: 'Rate limit exceeded',
  closed: 'Service is shutting down',
  unavailable: 'Limiter unavailable',
};

const DETAILS: Record<RejectionReason, string> = {
  queue_full:
    'The server is at capacity and its wait queue is full. Retry after the indicated delay.',
  queue_timeout:
    'The request waited for capacity longer than allowed. Retry after the indicated delay.',
  rate_limited: 'Too many requests from this client. Retry after the indicated delay.',
  closed: 'The server is no longer accepting work on this route.',
  unavailable:
    'The limiter that guards this route could not be reached, so the request was not admitted. Retry after the indicated delay.',
};

/** The problem type URI of a reason; documented in the repository's docs/problems.md. */
export function problemType(reason: RejectionReason): string {
  return `urn:sluice:problem:${reason.replace('_', '-')}`;
}

/** Whole seconds from milliseconds, rounded up, never below 1 (what `Retry-After` needs). */
export function retryAfterSeconds(ms: number | undefined): number {
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0) return 1;
  return Math.max(1, Math.ceil(ms / 1000));
}

/** A Structured Fields String: printable ASCII only; quotes and backslashes are dropped. */
function quoteToken(name: string): string {
  return `"${name.replace(/[^\x20-\x7e]|["\\]/g, '')}"`;
}

/** A Structured Fields Integer from any number: rounded, at least `min`; NaN reads as `min`. */
function sfInteger(value: number, round: (n: number) => number, min: number): number {
  return Number.isFinite(value) ? Math.min(999_999_999_999_999, Math.max(min, round(value))) : min;
}

/** `RateLimit-Policy` and `RateLimit` header values (draft-ietf-httpapi-ratelimit-headers). */
export function rateLimitHeaders(
  policy: RateLimitPolicy,
  state: RateLimitState,
): Record<string, string> {
  const name = quoteToken(policy.name);
  let policyValue = `${name};q=${sfInteger(policy.quota, Math.floor, 0)}`;
  if (policy.unit === 'concurrent-requests') policyValue += ';qu="concurrent-requests"';
  if (policy.windowSeconds !== undefined) {
    policyValue += `;w=${sfInteger(policy.windowSeconds, Math.ceil, 1)}`;
  }
  const remaining = sfInteger(state.remaining, Math.floor, 0);
  const reset = sfInteger(state.resetSeconds, Math.ceil, 0);
  return {
    'RateLimit-Policy': policyValue,
    RateLimit: `${name};r=${remaining};t=${reset}`,
  };
}

export interface RejectionInit {
  reason: RejectionReason;
  /** Default 'shared'. Ignored for `rate_limited`, which is always the client's own (429). */
  scope?: RejectionScope;
  /** How long until a retry makes sense; rounded up to whole seconds, at least 1. */
  retryAfterMs?: number;
  /** Replaces the default human-readable `detail`. */
  detail?: string;
  /** Extra headers, e.g. from `rateLimitHeaders`. */
  headers?: Record<string, string>;
}

/** The status, headers and body for a refused request. */
export function rejection(init: RejectionInit): Rejection {
  const { reason } = init;
  if (!Object.hasOwn(TITLES, reason)) {
    throw new TypeError(
      `Expected \`reason\` to be one of ${Object.keys(TITLES).join(', ')}, got ${JSON.stringify(reason)}`,
    );
  }
  const scope = init.scope ?? 'shared';
  // `closed` and `unavailable` are the server's state, never the client's fault: always 503.
  const status =
    reason === 'rate_limited' ||
    (scope === 'client' && reason !== 'closed' && reason !== 'unavailable')
      ? 429
      : 503;
  const retryAfter = retryAfterSeconds(init.retryAfterMs);
  const body: ProblemDetails = {
    type: problemType(reason),
    title: TITLES[reason],
    status,
    detail: init.detail ?? DETAILS[reason],
    reason,
    retryAfter,
  };
  return {
    status,
    reason,
    retryAfter,
    headers: {
      ...init.headers,
      'Content-Type': PROBLEM_CONTENT_TYPE,
      'Retry-After': String(retryAfter),
      'Cache-Control': 'no-store',
    },
    body,
  };
}

/**
 * Maps an error from a limiter's `acquire` to its rejection reason: `TimeoutError` ->
 * `queue_timeout`, `QueueFullError` -> `queue_full`, `ClosedError` -> `closed`,
 * `UnavailableError` -> `unavailable`. Anything else
 * (an abort reason, a bug) is not a rejection: undefined.
 */
export function rejectionReasonOf(error: unknown): RejectionReason | undefined {
  // Read `code`, not `instanceof`: the ESM and CJS builds (or two installed copies) each have
  // their own error classes.
  // Any object, not only `instanceof Error`: an error made in another realm fails that test.
  const code =
    typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (code === 'TIMEOUT') return 'queue_timeout';
  if (code === 'QUEUE_FULL') return 'queue_full';
  if (code === 'CLOSED') return 'closed';
  if (code === 'UNAVAILABLE') return 'unavailable';
  return undefined;
}

/**
 * RateLimit headers of a token bucket: quota `capacity` per window (the time a drained bucket
 * takes to refill), `remaining` whole tokens, reset when the bucket would be full again.
 */
export function tokenBucketHeaders(
  name: string,
  capacity: number,
  refillPerSecond: number,
  remaining: number,
): Record<string, string> {
  return rateLimitHeaders(
    { name, quota: capacity, windowSeconds: capacity / refillPerSecond },
    { remaining, resetSeconds: Math.max(0, capacity - remaining) / refillPerSecond },
  );
}

/**
 * RateLimit headers of an in-flight limit: quota `limit` concurrent requests, `available` left
 * now; reset 0 while any is left, else `retryAfter` seconds (a guess: in-flight work has no
 * schedule).
 */
export function concurrencyHeaders(
  name: string,
  limit: number,
  available: number,
  retryAfter = 1,
): Record<string, string> {
  return rateLimitHeaders(
    { name, quota: limit, unit: 'concurrent-requests' },
    { remaining: available, resetSeconds: available > 0 ? 0 : retryAfter },
  );
}

export type { ConcurrencySettings, RateLimitSettings, SettingsContext } from './options.js';
export {
  assertOptionsObject,
  assertPolicyName,
  DEFAULT_CONCURRENCY_HEADERS,
  DEFAULT_CONCURRENCY_NAME,
  DEFAULT_MAX_WAITING,
  DEFAULT_RATE_LIMIT_HEADERS,
  DEFAULT_RATE_LIMIT_NAME,
  DEFAULT_RETRY_AFTER_S,
  DEFAULT_TIMEOUT_MS,
  describeValue,
  resolveConcurrencySettings,
  resolveRateLimitSettings,
} from './options.js';
export type { ClassifyOutcome, OutcomeClass, RequestOutcome } from './outcome.js';
export { classifyOutcome, isAdaptivePermit, returnUnused, settlePermit } from './outcome.js';
