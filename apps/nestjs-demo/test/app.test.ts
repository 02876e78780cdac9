// Runs the demo as `start` does (node dist/main.js, built by tsc with decorator metadata) and
// checks the shared HTTP contract against it.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMain } from './start-main.js';

let child: ChildProcess;
let base: string;
let firstLine: string;

beforeAll(async () => {
  ({ child, base, firstLine } = await startMain());
});

afterAll(() => {
  child?.kill('SIGTERM');
});

async function get(path: string) {
  const response = await fetch(`${base}${path}`);
  return { status: response.status, headers: response.headers, body: await response.json() };
}

describe('nestjs demo: the shared HTTP contract', () => {
  it('prints exactly "listening on <port>" first', () => {
    expect(firstLine).toMatch(/^listening on \d+$/);
  });

  it('GET /work under a burst: 4 run at once, 8 wait, the rest are shed with 503', async () => {
    // 300 ms of work: the burst has that long to arrive on a loaded machine, and the last four
    // queued still wait only 600 ms of the 1 s queue timeout.
    const replies = await Promise.all(Array.from({ length: 20 }, () => get('/work?ms=300')));
    const ok = replies.filter((r) => r.status === 200);
    const shed = replies.filter((r) => r.status === 503);
    expect(ok).toHaveLength(12);
    expect(shed).toHaveLength(8);
    for (const reply of shed) {
      expect(reply.headers.get('content-type')).toBe('application/problem+json');
      expect(reply.headers.get('retry-after')).toBe('1');
      expect(reply.body).toMatchObject({ status: 503, reason: 'queue_full' });
    }
    expect(ok.every((r) => r.body.ms === 300)).toBe(true);
    expect(ok.filter((r) => r.body.waitedMs >= 250)).toHaveLength(8);
    const stats = await get('/stats');
    expect(stats.body.work).toMatchObject({
      capacity: 4,
      maxInUse: 4,
      waiting: 0,
      acquired: 12,
      rejected: 8,
    });
  });

  it('GET /work defaults to 100 ms and clamps what it is asked', async () => {
    expect((await get('/work')).body).toMatchObject({ ms: 100 });
    expect((await get('/work?ms=-5')).body).toMatchObject({ ms: 0 });
  });

  it('GET /api/hello: 5 per client, then 429 with Retry-After and RateLimit headers', async () => {
    const replies = [];
    for (let i = 0; i < 6; i++) replies.push(await get('/api/hello'));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(replies[0]?.body).toEqual({ hello: 'world', client: '127.0.0.1' });
    const refused = replies[5];
    expect(refused?.headers.get('content-type')).toBe('application/problem+json');
    expect(Number(refused?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused?.headers.get('ratelimit-policy')).toBe('"rate-limit";q=5;w=5');
    expect(refused?.headers.get('ratelimit')).toMatch(/^"rate-limit";r=0;t=\d+$/);
    expect(refused?.body).toMatchObject({ status: 429, reason: 'rate_limited' });
  });
});
