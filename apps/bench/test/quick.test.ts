import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs, sizesFor } from '../src/args.js';
import { median, paired, quantile, shuffled, spread } from '../src/harness.js';
import { runHttp } from '../src/http/driver.js';
import { runBench, writeReport } from '../src/main.js';
import { markdown } from '../src/report.js';

// Shape, not speed: the bench never gates anything on its figures.

describe('parseArgs', () => {
  it('defaults to a full run without the socket table (bench:http has it)', () => {
    expect(parseArgs([])).toMatchObject({ mode: 'full', only: [], http: false });
  });

  it('runs quick without HTTP unless asked', () => {
    expect(parseArgs(['--quick'])).toMatchObject({ mode: 'quick', http: false });
    expect(parseArgs(['--', '--quick', '--http']).http).toBe(true);
    expect(parseArgs(['--no-http']).http).toBe(false);
    expect(parseArgs(['--cpu']).cpu).toBe(true);
  });

  it('splits --only lists and selects HTTP by name', () => {
    expect(parseArgs(['--only', '2,cancel']).only).toEqual(['2', 'cancel']);
    expect(parseArgs(['--only=http'])).toMatchObject({ only: ['http'], http: true });
    expect(parseArgs(['--only', '1']).http).toBe(false);
  });

  it('takes a JSON file to render', () => {
    expect(parseArgs(['--render', 'results/latest.json']).render).toBe('results/latest.json');
  });

  it('rejects unknown options and bad values', () => {
    expect(() => parseArgs(['--fast'])).toThrow(/unknown option --fast/);
    expect(() => parseArgs(['--reps', '0'])).toThrow(/--reps must be a positive integer, got 0/);
    expect(() => parseArgs(['--only'])).toThrow(/--only needs a value/);
  });

  it('keeps the issue’s sizes for the full run', () => {
    const full = sizesFor('full');
    expect(full).toMatchObject({
      uncontended: 1_000_000,
      handoff: 100_000,
      run: 100_000,
      cancel: [50_000, 100_000],
      waiters: 100_000,
      runUncontended: 1_000_000,
      burst: 1_000_000,
    });
    expect(sizesFor('quick', 5).reps).toBe(5);
  });
});

describe('harness helpers', () => {
  it('takes the median of odd and even samples', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeUndefined();
  });

  it('pairs two rows round by round, skipping rounds one of them lacks', () => {
    const a = { samples: [10, 20, 30, 40], rounds: [0, 1, 2, 3] };
    const b = { samples: [5, 10, 20], rounds: [0, 1, 3] };
    expect(paired(a, b, (x, y) => x / y)).toEqual({ median: 2, p25: 2, p75: 2, n: 3 });
    expect(paired(a, b, (x, y) => x - y)?.median).toBe(10);
    expect(spread([1, 2, 3, 4, 5])).toEqual({ median: 3, p25: 2, p75: 4, n: 5 });
    expect(quantile([1, 2], 0.5)).toBe(1.5);
  });

  it('shuffles into a fixed permutation', () => {
    const order = shuffled(1000);
    expect([...order].sort((a, b) => a - b)).toEqual([...Array(1000).keys()]);
    expect([...order]).not.toEqual([...Array(1000).keys()]);
    expect([...shuffled(1000)]).toEqual([...order]);
  });
});

describe('runBench --smoke', () => {
  it('measures every scenario and reports ratios, n/a rows and targets', async () => {
    const report = await runBench({
      mode: 'smoke',
      only: [],
      http: false,
      out: undefined,
      reps: undefined,
      cpu: false,
      render: undefined,
      help: false,
    });
    expect(report.environment.node).toBe(process.version);
    expect(report.versions).toMatchObject({
      'async-mutex': '0.5.0',
      'p-limit': '7.3.3',
      'p-queue': '9.3.5',
      'async-sema': '3.1.1',
      '@henrygd/semaphore': '0.1.0',
      limiter: '4.1.0',
    });
    expect(new Set(report.cases.map((c) => c.scenario))).toEqual(
      new Set([1, 2, 3, 4, 5, 6, 7, 8, 9]),
    );
    for (const c of report.cases) {
      const floor = c.rows.find((r) => r.role === 'floor');
      const sluice = c.rows.find((r) => r.library === '@sluice/core');
      expect(sluice?.status, `${c.id}: ${sluice?.note}`).toBe('ok');
      expect(sluice?.note, c.id).toBeUndefined();
      if (c.scenario === 5 || c.scenario === 9) {
        // Heap deltas at smoke sizes are GC noise and may even be negative: check shape only.
        expect(Number.isFinite(floor?.median), c.id).toBe(true);
        expect(Number.isFinite(sluice?.vsFloor), c.id).toBe(true);
        expect(Number.isFinite(sluice?.vsFastestPeer), c.id).toBe(true);
        continue;
      }
      expect(floor?.median, c.id).toBeGreaterThan(0);
      expect(sluice?.vsFloor, c.id).toBeGreaterThan(0);
      expect(sluice?.vsFastestPeer, c.id).toBeGreaterThan(0);
      expect(c.fastestPeer, c.id).toBeDefined();
    }
    const handoff = report.cases.find((c) => c.id === 'handoff-limit-10')!;
    expect(handoff.rows.find((r) => r.library === 'p-limit')).toMatchObject({ status: 'n/a' });
    const cancel = report.cases.find((c) => c.scenario === 4)!;
    expect(cancel.rows.find((r) => r.library === 'p-queue')?.status).toBe('ok');
    expect(cancel.rows.find((r) => r.library === 'async-mutex')?.status).toBe('n/a');
    // The floors of the restated targets: a do-nothing async permit, and the ideal ring.
    const uncontended = report.cases.find((c) => c.id === 'uncontended')!;
    expect(uncontended.rows.find((r) => r.library === 'floor: async permit')).toMatchObject({
      role: 'floor',
      status: 'ok',
    });
    const burst = report.cases.find((c) => c.id === 'burst-4')!;
    expect(burst.rows.map((r) => r.library).slice(0, 3)).toEqual([
      'floor: ideal ring',
      'floor: ideal ring + permit',
      '@sluice/core',
    ]);
    for (const r of burst.rows.filter((row) => row.status === 'ok')) {
      expect(r.note, r.library).toBeUndefined();
    }
    const runSeq = report.cases.find((c) => c.id === 'run-uncontended')!;
    expect(runSeq.rows.find((r) => r.library === 'p-limit')?.status).toBe('ok');
    expect(runSeq.rows.find((r) => r.library === 'async-sema')?.status).toBe('n/a');
    expect(report.targets.map((t) => t.id)).toEqual([
      'uncontended-vs-permit-floor',
      'handoff-limit-1',
      'handoff-limit-10',
      'handoff-limit-100',
      'run-limit-10',
      'run-uncontended',
      'cancel-linear',
      'cancel-vs-p-queue',
      'heap-per-waiter',
      'queue-vs-floor',
      'burst-vs-ideal-ring',
      'burst-vs-ideal-ring-permit',
    ]);
    expect(report.targets.every((t) => t.ok !== undefined)).toBe(true);
    // Paired targets carry their spread over the rounds.
    const permitTarget = report.targets.find((t) => t.id === 'uncontended-vs-permit-floor')!;
    expect(permitTarget.spread).toMatch(/\(1 rounds\)$/);

    const md = markdown(report);
    for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]) {
      expect(md).toMatch(new RegExp(`^### ${n}\\. `, 'm'));
    }
    expect(md).toContain('| setting | library | API |');
    expect(md).toContain('### Targets');
    expect(md).toMatch(/\| (PASS|\*\*MISS\*\*) \|$/m);

    const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
    try {
      const path = writeReport(report, join(dir, 'out', 'latest.json'));
      const json = JSON.parse(readFileSync(path, 'utf8'));
      expect(json).toMatchObject({ schema: 1, mode: 'smoke' });
      expect(json.environment.cpu).toEqual(expect.any(String));
      expect(json.cases).toHaveLength(report.cases.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs only the cases --only names', async () => {
    const report = await runBench({
      mode: 'smoke',
      only: ['handoff-limit-1', '5'],
      http: false,
      out: undefined,
      reps: 1,
      cpu: false,
      render: undefined,
      help: false,
    });
    expect(report.cases.map((c) => c.id)).toEqual(['handoff-limit-1', 'heap-per-waiter']);
    expect(report.http).toBeUndefined();
  });
});

describe('HTTP driver', () => {
  it('loads a server in a child process and skips a framework without a servers file', async () => {
    const http = await runHttp({ mode: 'smoke', log: () => {}, frameworks: ['node', 'nope'] });
    const [node, nope] = http.frameworks;
    expect(node?.variants).toHaveLength(1);
    expect(node?.variants[0]).toMatchObject({ name: 'bare', errors: 0, non2xx: 0, vsBare: 1 });
    expect(node?.variants[0]?.medianRps).toBeGreaterThan(0);
    // Server CPU per request comes from the child itself: positive, and 1× for bare.
    expect(node?.variants[0]?.cpuUsPerRequest).toBeGreaterThan(0);
    expect(node?.variants[0]?.cpuVsBare).toBe(1);
    expect(nope?.skipped).toMatch(/nope-servers\.ts is missing/);
  });

  it('runs the plain-JS Nest servers without tsx, every guard admitting', async () => {
    const http = await runHttp({ mode: 'smoke', log: () => {}, frameworks: ['nestjs'] });
    const variants = http.frameworks[0]?.variants ?? [];
    expect(variants.map((v) => v.name)).toEqual([
      'bare',
      'noop guard',
      'sluice concurrency',
      'sluice rateLimit',
      '@nestjs/throttler',
    ]);
    for (const v of variants) {
      expect(v, v.name).toMatchObject({ errors: 0, non2xx: 0 });
      expect(v.medianRps, v.name).toBeGreaterThan(0);
      expect(v.cpuUsPerRequest, v.name).toBeGreaterThan(0);
    }
  }, 60_000);
});
