// One suite, run by each demo against its built server (`node dist/main.js`): /metrics through
// a Prometheus text parser, /stats/stream through a real client, /dashboard in Chromium.
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** The flags the browser test launches Debian's Chromium with (no network beyond loopback). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** `CHROMIUM_PATH`, else `chromium` on PATH; undefined when there is none. */
export function findChromium(): string | undefined {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'chromium');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

export interface RunningDemo {
  base: string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how the process ended. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `node <main>` with PORT=0 and resolves once it prints `listening on <port>`. */
export async function startDemo(main: string): Promise<RunningDemo> {
  if (!existsSync(main)) throw new Error(`${main} is missing: build the demo first (turbo build)`);
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no "listening on" in 30 s: ${output}`)),
      30_000,
    );
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const match = /listening on (\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`demo exited with ${code} before listening: ${output}`));
    });
  });
  return { base: `http://127.0.0.1:${port}`, stop: (graceMs) => stop(child, graceMs) };
}

async function stop(child: ChildProcess, graceMs = 5000) {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
  return { code: child.exitCode, signal: child.signalCode };
}

/** What the dashboard page exposes on `window` for tests (see public/dashboard.js). */
interface DashboardWindow {
  sluiceDashboard: {
    frames: number;
    charts: Record<string, Record<'flight' | 'shed', { plot: { data: number[][] } }>>;
  };
}

interface WorkStats {
  capacity: number;
  inUse: number;
  waiting: number;
  acquired: number;
  rejected: number;
  timedOut: number;
  aborted: number;
}

interface PromSample {
  labels?: Record<string, string>;
  value?: string;
  count?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function workStats(base: string): Promise<WorkStats> {
  return ((await (await fetch(`${base}/stats`)).json()) as { work: WorkStats }).work;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/**
 * Puts /work through every way out: 4 held, 8 queued of which 4 are left by their clients
 * (aborted) and 4 time out, and 4 refused at once (queue_full). Resolves when all are done.
 */
async function burstEveryReason(base: string): Promise<void> {
  const get = (ms: number, signal?: AbortSignal) =>
    fetch(`${base}/work?ms=${ms}`, { signal }).then(
      (response) => response.arrayBuffer(),
      () => undefined, // the aborted ones
    );
  const held = Array.from({ length: 4 }, () => get(1500));
  await until('4 in flight', async () => (await workStats(base)).inUse === 4);
  const leaving = new AbortController();
  const queued = [
    ...Array.from({ length: 4 }, () => get(10, leaving.signal)),
    ...Array.from({ length: 4 }, () => get(10)),
  ];
  await until('8 waiting', async () => (await workStats(base)).waiting === 8);
  const refused = Array.from({ length: 4 }, () => get(10));
  await Promise.all(refused);
  leaving.abort();
  await Promise.all([...held, ...queued]);
  await until('the queue to empty', async () => {
    const stats = await workStats(base);
    return stats.inUse === 0 && stats.waiting === 0;
  });
}

/**
 * The dashboard suite: `main` is the demo's built entry (`dist/main.js`). Needs Chromium (see
 * scripts/ensure-chromium.mjs).
 */
export function dashboardSuite(name: string, main: string): void {
  describe(`${name}: /metrics, /stats/stream and /dashboard`, () => {
    let demo: RunningDemo;

    beforeAll(async () => {
      demo = await startDemo(main);
    }, 60_000);

    afterAll(async () => {
      await demo?.stop();
    }, 30_000);

    it('GET /metrics parses as Prometheus text and its counters match /stats', async () => {
      await burstEveryReason(demo.base);
      const response = await fetch(`${demo.base}/metrics`);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const families = parsePrometheusTextFormat(await response.text());
      const sample = (family: string, labels: Record<string, string> = {}) => {
        const found = families.find((f) => f.name === family);
        expect(found, family).toBeDefined();
        const match = (found!.metrics as PromSample[]).find((m) =>
          Object.entries({ limiter: 'work', ...labels }).every(([k, v]) => m.labels?.[k] === v),
        );
        expect(match, `${family} ${JSON.stringify(labels)}`).toBeDefined();
        return Number(match!.value ?? match!.count);
      };
      const stats = await workStats(demo.base);
      expect(stats.acquired).toBeGreaterThan(0);
      expect(stats.rejected).toBe(4);
      expect(stats.aborted).toBe(4);
      expect(stats.timedOut).toBe(4);
      expect(sample('sluice_limiter_acquired_total')).toBe(stats.acquired);
      expect(sample('sluice_limiter_released_total')).toBe(stats.acquired);
      expect(sample('sluice_limiter_rejected_total', { reason: 'queue_full' })).toBe(
        stats.rejected,
      );
      expect(sample('sluice_limiter_rejected_total', { reason: 'queue_timeout' })).toBe(
        stats.timedOut,
      );
      expect(sample('sluice_limiter_rejected_total', { reason: 'aborted' })).toBe(stats.aborted);
      expect(sample('sluice_limiter_in_use')).toBe(stats.inUse);
      expect(sample('sluice_limiter_waiting')).toBe(stats.waiting);
      expect(sample('sluice_limiter_capacity')).toBe(stats.capacity);
      // This parser keeps a labelled histogram's buckets but not its labels or count; with one
      // limiter, the +Inf bucket is the count.
      const wait = families.find((f) => f.name === 'sluice_limiter_wait_duration_seconds');
      expect(wait?.type).toBe('HISTOGRAM');
      expect(Number(wait?.metrics[0]?.buckets?.['+Inf'])).toBe(stats.acquired);
    }, 60_000);

    it('GET /stats/stream sends JSON frames, several a second, that agree with /stats', async () => {
      const leave = new AbortController();
      const response = await fetch(`${demo.base}/stats/stream`, { signal: leave.signal });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      const frames: Array<{ t: number; limiters: Record<string, Record<string, unknown>> }> = [];
      let text = '';
      const started = Date.now();
      while (frames.length < 3) {
        const { value, done } = await reader.read();
        if (done) throw new Error('the stream ended');
        text += value;
        for (let end = text.indexOf('\n\n'); end !== -1; end = text.indexOf('\n\n')) {
          const event = text.slice(0, end);
          text = text.slice(end + 2);
          if (event.startsWith('data: ')) frames.push(JSON.parse(event.slice(6)));
        }
      }
      expect(Date.now() - started).toBeLessThan(5000);
      leave.abort(); // a client that leaves: the server must cope (the next test still runs)
      const stats = await workStats(demo.base);
      const work = frames.at(-1)!.limiters.work!;
      expect(work).toMatchObject({
        inFlight: stats.inUse,
        queued: stats.waiting,
        capacity: stats.capacity,
        admitted: stats.acquired,
        shed: expect.objectContaining({
          queue_full: stats.rejected,
          queue_timeout: stats.timedOut,
          aborted: stats.aborted,
        }),
      });
      expect(frames[2]!.t).toBeGreaterThan(frames[0]!.t);
    }, 30_000);

    it('GET /dashboard in Chromium: no console errors, the burst button moves the plots, the numbers match /stats', async () => {
      const executablePath = findChromium();
      expect(
        executablePath,
        'chromium not found: run node scripts/ensure-chromium.mjs',
      ).toBeDefined();
      const profile = await mkdtemp(join(tmpdir(), 'sluice-dashboard-'));
      const context = await chromium.launchPersistentContext(profile, {
        executablePath,
        headless: true,
        args: CHROMIUM_ARGS,
      });
      try {
        const page = context.pages()[0] ?? (await context.newPage());
        const errors: string[] = [];
        page.on('console', (message) => {
          if (message.type() === 'error') errors.push(message.text());
        });
        page.on('pageerror', (error) => errors.push(String(error)));
        page.on('requestfailed', (request) => {
          // The EventSource is cut when the page closes; anything else is a real failure.
          if (!request.url().endsWith('/stats/stream')) errors.push(`failed: ${request.url()}`);
        });

        await page.goto(`${demo.base}/dashboard`);
        await page
          .waitForFunction(
            () =>
              ((window as unknown as Partial<DashboardWindow>).sluiceDashboard?.frames ?? 0) >= 2,
            null,
            {
              timeout: 10_000,
            },
          )
          .catch((error: Error) => {
            throw new Error(`no frames plotted (${error.message}); page errors: ${errors}`);
          });
        expect(await page.locator('section[data-limiter="work"] canvas').count()).toBe(4);
        expect(errors).toEqual([]);

        // What the plots hold: in-flight and total shed/s for every frame since `from`.
        const plotted = (from: number) =>
          page.evaluate((from) => {
            const { flight, shed } = (window as unknown as DashboardWindow).sluiceDashboard.charts
              .work!;
            const inFlight: number[] = (flight.plot.data[1] ?? []).slice(from);
            const shedPerSec = shed.plot.data.slice(1).reduce(
              (sums, column) => sums.map((sum, i) => sum + (column[from + i] ?? 0)),
              inFlight.map(() => 0),
            );
            return { inFlight, shedPerSec };
          }, from);
        const before = await page.evaluate(
          () =>
            (window as unknown as DashboardWindow).sluiceDashboard.charts.work!.flight.plot.data[0]!
              .length,
        );
        expect(Math.max(...(await plotted(Math.max(0, before - 4))).inFlight)).toBe(0);

        await page.click('#burst-button');
        const clicked = Date.now();
        await until(
          'plotted in-flight and shed/s to rise',
          async () => {
            const { inFlight, shedPerSec } = await plotted(before);
            return Math.max(0, ...inFlight) > 0 && Math.max(0, ...shedPerSec) > 0;
          },
          2000,
        );
        expect(Date.now() - clicked).toBeLessThanOrEqual(2000);

        // The burst has answered; then every number shown agrees with /stats.
        await page.waitForFunction(
          () => (document.getElementById('burst-result')?.textContent ?? '').includes(': '),
          null,
          { timeout: 15_000 },
        );
        const shown = () =>
          page.evaluate(() =>
            Object.fromEntries(
              Array.from(document.querySelectorAll<HTMLElement>('dd[data-limiter="work"]')).map(
                (n) => [n.dataset.field, n.textContent],
              ),
            ),
          );
        let stats = await workStats(demo.base);
        const expected = (s: WorkStats) => ({
          inFlight: String(s.inUse),
          queued: String(s.waiting),
          capacity: String(s.capacity),
          admitted: String(s.acquired),
          'shed.queue_full': String(s.rejected),
          'shed.queue_timeout': String(s.timedOut),
          'shed.aborted': String(s.aborted),
        });
        await until(
          'the page to show what /stats says',
          async () => {
            stats = await workStats(demo.base);
            const numbers = await shown();
            return Object.entries(expected(stats)).every(([k, v]) => numbers[k] === v);
          },
          5000,
        ).catch(() => {});
        expect(await shown()).toMatchObject(expected(stats));
        expect(stats.rejected).toBeGreaterThan(4); // the burst was shed too, not only earlier tests
        if (process.env.DASHBOARD_SCREENSHOT) {
          await page.screenshot({ path: process.env.DASHBOARD_SCREENSHOT, fullPage: true });
        }
        expect(errors).toEqual([]);
      } finally {
        await context.close();
        await rm(profile, { recursive: true, force: true });
      }
    }, 90_000);

    it('SIGTERM with a /stats/stream open: the stream ends and the server exits by itself', async () => {
      const response = await fetch(`${demo.base}/stats/stream`);
      const reader = response.body!.getReader();
      await reader.read();
      const ended = (async () => {
        for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {}
      })();
      // A stream that never ended would hold server.close() until the SIGKILL.
      expect(await demo.stop(20_000)).not.toEqual({ code: null, signal: 'SIGKILL' });
      await ended;
    }, 40_000);
  });
}
