import { describe, expect, it } from 'vitest';
import {
  ClosedError,
  QueueFullError,
  SluiceError,
  TimeoutError,
  UnavailableError,
} from '../errors.js';
import {
  PROBLEM_CONTENT_TYPE,
  problemType,
  type RejectionReason,
  rateLimitHeaders,
  rejection,
  rejectionReasonOf,
  retryAfterSeconds,
} from './index.js';

const REASONS: RejectionReason[] = [
  'queue_full',
  'queue_timeout',
  'rate_limited',
  'closed',
  'unavailable',
];

describe('retryAfterSeconds', () => {
  it.each([
    [undefined, 1],
    [Number.NaN, 1],
    [0, 1],
    [-500, 1],
    [Number.POSITIVE_INFINITY, 1],
    [1, 1],
    [999, 1],
    [1000, 1],
    [1000.5, 2],
    [1001, 2],
    [59_999, 60],
  ])('%s ms -> %i s', (ms, seconds) => {
    const value = retryAfterSeconds(ms);
    expect(value).toBe(seconds);
    expect(Number.isInteger(value)).toBe(true);
    expect(value).toBeGreaterThanOrEqual(1);
  });
});

describe('rejection', () => {
  it.each([
    ['queue_full', 'shared', 503],
    ['queue_timeout', 'shared', 503],
    ['closed', 'shared', 503],
    ['rate_limited', 'shared', 429],
    ['queue_full', 'client', 429],
    ['queue_timeout', 'client', 429],
    ['rate_limited', 'client', 429],
    ['closed', 'client', 503],
    // A limiter that cannot be reached is the server's trouble, never the client's: never 429.
    ['unavailable', 'shared', 503],
    ['unavailable', 'client', 503],
  ] as const)('%s with scope %s -> %i', (reason, scope, status) => {
    expect(rejection({ reason, scope }).status).toBe(status);
    expect(rejection({ reason, scope }).body.status).toBe(status);
  });

  it('defaults to the shared scope', () => {
    expect(rejection({ reason: 'queue_full' }).status).toBe(503);
  });

  it.each(REASONS)('%s: an RFC 9457 problem+json body with the reason extension', (reason) => {
    const r = rejection({ reason, retryAfterMs: 2500 });
    expect(r.reason).toBe(reason);
    expect(r.retryAfter).toBe(3);
    expect(Object.keys(r.body).sort()).toEqual([
      'detail',
      'reason',
      'retryAfter',
      'status',
      'title',
      'type',
    ]);
    expect(r.body.type).toBe(problemType(reason));
    expect(r.body.type).toMatch(/^urn:sluice:problem:[a-z-]+$/);
    expect(r.body.title).toEqual(expect.any(String));
    expect(r.body.title.length).toBeGreaterThan(0);
    expect(r.body.detail.length).toBeGreaterThan(0);
    expect(r.body.reason).toBe(reason);
    expect(r.body.retryAfter).toBe(3);
    // Plain data: it survives JSON unchanged.
    expect(JSON.parse(JSON.stringify(r.body))).toEqual(r.body);
  });

  it('gives each reason its own problem type and title', () => {
    expect(new Set(REASONS.map(problemType)).size).toBe(REASONS.length);
    expect(new Set(REASONS.map((reason) => rejection({ reason }).body.title)).size).toBe(
      REASONS.length,
    );
    expect(problemType('queue_timeout')).toBe('urn:sluice:problem:queue-timeout');
  });

  it('writes Content-Type, an integer Retry-After >= 1 and no-store', () => {
    for (const retryAfterMs of [undefined, 0, Number.NaN, 0.4, 1500.2, -3]) {
      const r = rejection({ reason: 'rate_limited', retryAfterMs });
      expect(r.headers['Content-Type']).toBe(PROBLEM_CONTENT_TYPE);
      expect(PROBLEM_CONTENT_TYPE).toBe('application/problem+json');
      expect(r.headers['Retry-After']).toMatch(/^[1-9][0-9]*$/);
      expect(r.headers['Retry-After']).toBe(String(r.retryAfter));
      expect(r.headers['Cache-Control']).toBe('no-store');
    }
    expect(rejection({ reason: 'rate_limited', retryAfterMs: 1500.2 }).headers['Retry-After']).toBe(
      '2',
    );
  });

  it('keeps extra headers, but its own win', () => {
    const r = rejection({
      reason: 'rate_limited',
      retryAfterMs: 4000,
      headers: { RateLimit: '"api";r=0;t=4', 'Retry-After': '999' },
    });
    expect(r.headers.RateLimit).toBe('"api";r=0;t=4');
    expect(r.headers['Retry-After']).toBe('4');
  });

  it('refuses an unknown reason, naming it', () => {
    expect(() => rejection({ reason: 'nope' as never })).toThrow(TypeError);
    expect(() => rejection({ reason: 'toString' as never })).toThrow(/`reason`.*"toString"/);
  });

  it('replaces the detail when asked', () => {
    expect(rejection({ reason: 'closed', detail: 'Deploying' }).body.detail).toBe('Deploying');
  });
});

describe('rateLimitHeaders', () => {
  it('writes a request quota policy per the draft', () => {
    expect(
      rateLimitHeaders(
        { name: 'api', quota: 5, windowSeconds: 60 },
        { remaining: 3, resetSeconds: 10 },
      ),
    ).toEqual({
      'RateLimit-Policy': '"api";q=5;w=60',
      RateLimit: '"api";r=3;t=10',
    });
  });

  it('writes nothing for the default unit', () => {
    const h = rateLimitHeaders(
      { name: 'api', quota: 5, windowSeconds: 5, unit: 'request' },
      { remaining: 5, resetSeconds: 0 },
    );
    expect(h['RateLimit-Policy']).toBe('"api";q=5;w=5');
    expect(h.RateLimit).toBe('"api";r=5;t=0');
  });

  it('writes a concurrency policy with qu="concurrent-requests" and no window', () => {
    const h = rateLimitHeaders(
      { name: 'work', quota: 4, unit: 'concurrent-requests' },
      { remaining: 1, resetSeconds: 0 },
    );
    expect(h['RateLimit-Policy']).toBe('"work";q=4;qu="concurrent-requests"');
    expect(h.RateLimit).toBe('"work";r=1;t=0');
  });

  it('writes integers only: floors quota and remaining, rounds windows and resets up', () => {
    const h = rateLimitHeaders(
      { name: 'p', quota: 5.9, windowSeconds: 0.2 },
      { remaining: 2.7, resetSeconds: 1.01 },
    );
    expect(h['RateLimit-Policy']).toBe('"p";q=5;w=1');
    expect(h.RateLimit).toBe('"p";r=2;t=2');
  });

  it('never writes a negative or non-numeric value', () => {
    const h = rateLimitHeaders(
      { name: 'p', quota: Number.NaN, windowSeconds: Number.NaN },
      { remaining: -3, resetSeconds: Number.NaN },
    );
    expect(h['RateLimit-Policy']).toBe('"p";q=0;w=1');
    expect(h.RateLimit).toBe('"p";r=0;t=0');
  });

  it('keeps the policy name a valid Structured Fields String', () => {
    const h = rateLimitHeaders({ name: 'a"b\\cé\nd', quota: 1 }, { remaining: 0, resetSeconds: 1 });
    expect(h['RateLimit-Policy']).toBe('"abcd";q=1');
    for (const value of Object.values(h)) expect(value).toMatch(/^[\x20-\x7e]+$/);
  });
});

describe('rejectionReasonOf', () => {
  it('maps each sluice error', () => {
    expect(rejectionReasonOf(new TimeoutError(100))).toBe('queue_timeout');
    expect(rejectionReasonOf(new QueueFullError())).toBe('queue_full');
    expect(rejectionReasonOf(new ClosedError('bye'))).toBe('closed');
    expect(rejectionReasonOf(new UnavailableError())).toBe('unavailable');
  });

  it('reads the code, so errors from another copy of the package map too', () => {
    const foreign = Object.assign(new Error('Timed out'), { code: 'TIMEOUT' });
    expect(rejectionReasonOf(foreign)).toBe('queue_timeout');
    expect(rejectionReasonOf(Object.assign(new Error('x'), { code: 'QUEUE_FULL' }))).toBe(
      'queue_full',
    );
    expect(rejectionReasonOf(Object.assign(new Error('x'), { code: 'CLOSED' }))).toBe('closed');
    // An error from another realm is not `instanceof Error` here.
    expect(rejectionReasonOf({ name: 'ClosedError', code: 'CLOSED', message: 'Closed' })).toBe(
      'closed',
    );
  });

  it('returns undefined for anything that is not a rejection', () => {
    expect(rejectionReasonOf(new DOMException('aborted', 'AbortError'))).toBeUndefined();
    expect(rejectionReasonOf(new Error('boom'))).toBeUndefined();
    expect(rejectionReasonOf(new SluiceError('OTHER', 'other'))).toBeUndefined();
    expect(
      rejectionReasonOf(Object.assign(new Error('x'), { code: 'ECONNRESET' })),
    ).toBeUndefined();
    expect(rejectionReasonOf(undefined)).toBeUndefined();
    expect(rejectionReasonOf(null)).toBeUndefined();
    expect(rejectionReasonOf('TIMEOUT')).toBeUndefined();
  });

  it('feeds rejection() end to end', () => {
    const reason = rejectionReasonOf(new TimeoutError(1000));
    expect(reason).toBeDefined();
    const r = rejection({ reason: reason!, scope: 'shared', retryAfterMs: 1000 });
    expect(r.status).toBe(503);
    expect(r.body.reason).toBe('queue_timeout');
  });
});
