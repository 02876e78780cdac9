import { Semaphore } from '@sluice/core';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { register } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PrometheusMetrics } from './prometheus-metrics.js';

const settle = (promise: Promise<unknown>) => promise.catch(() => undefined);

async function scrape(metrics: PrometheusMetrics) {
  const families = parsePrometheusTextFormat(await metrics.text());
  return (name: string, labels: Record<string, string> = {}) => {
    const family = families.find((f) => f.name === name);
    const sample = family?.metrics.find((m) =>
      Object.entries(labels).every(([k, v]) => m.labels?.[k] === v),
    );
    return sample === undefined ? undefined : Number(sample.value);
  };
}

describe('PrometheusMetrics', () => {
  it('exports every series from the start, at 0, on a registry of its own', async () => {
    const metrics = new PrometheusMetrics({ work: new Semaphore(3), other: new Semaphore(1) });
    const value = await scrape(metrics);
    for (const limiter of ['work', 'other']) {
      expect(value('sluice_limiter_acquired_total', { limiter })).toBe(0);
      for (const reason of ['queue_full', 'queue_timeout', 'aborted', 'closed', 'rate_limited']) {
        expect(value('sluice_limiter_rejected_total', { limiter, reason })).toBe(0);
      }
      expect(value('sluice_limiter_in_use', { limiter })).toBe(0);
    }
    expect(value('sluice_limiter_capacity', { limiter: 'work' })).toBe(3);
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await register.metrics()).not.toContain('sluice_limiter'); // the global one is untouched
  });

  it('counts what the limiter counts: grants, releases, rejections by reason; gauges now', async () => {
    const semaphore = new Semaphore(1, { maxWaiting: 1 });
    const metrics = new PrometheusMetrics({ work: semaphore });
    const held = await semaphore.acquire();
    const timedOut = settle(semaphore.acquire({ timeout: 5 }));
    await settle(semaphore.acquire()); // queue_full
    await timedOut;
    const leaving = new AbortController();
    const aborted = settle(semaphore.acquire({ signal: leaving.signal }));
    leaving.abort();
    await aborted;
    const waiting = semaphore.acquire();
    let value = await scrape(metrics);
    expect(value('sluice_limiter_in_use', { limiter: 'work' })).toBe(1);
    expect(value('sluice_limiter_waiting', { limiter: 'work' })).toBe(1);
    held.release();
    (await waiting).release();

    const stats = semaphore.stats();
    value = await scrape(metrics);
    const work = (labels: Record<string, string> = {}) => ({ limiter: 'work', ...labels });
    expect(value('sluice_limiter_acquired_total', work())).toBe(stats.acquired);
    expect(value('sluice_limiter_released_total', work())).toBe(2);
    expect(value('sluice_limiter_rejected_total', work({ reason: 'queue_full' }))).toBe(
      stats.rejected,
    );
    expect(value('sluice_limiter_rejected_total', work({ reason: 'queue_timeout' }))).toBe(
      stats.timedOut,
    );
    expect(value('sluice_limiter_rejected_total', work({ reason: 'aborted' }))).toBe(stats.aborted);
    expect(stats).toMatchObject({ acquired: 2, rejected: 1, timedOut: 1, aborted: 1 });
    expect(value('sluice_limiter_in_use', work())).toBe(0);
    const text = await metrics.text();
    expect(text).toContain('sluice_limiter_wait_duration_seconds_count{limiter="work"} 2');
    expect(text).toContain('sluice_limiter_hold_duration_seconds_count{limiter="work"} 2');
  });

  it('close() unsubscribes', async () => {
    const semaphore = new Semaphore(1);
    const metrics = new PrometheusMetrics({ work: semaphore });
    metrics.close();
    (await semaphore.acquire()).release();
    expect((await scrape(metrics))('sluice_limiter_acquired_total', { limiter: 'work' })).toBe(0);
  });
});
