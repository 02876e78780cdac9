import { describe, expect, it } from 'vitest';
import { INJECT_FRAMEWORKS, summarizeInject } from '../src/inject/driver.js';
import { httpReportMarkdown, parseHttpArgs, runHttpBench } from '../src/inject/main.js';
import type { InjectChildResult } from '../src/inject/types.js';

// Shape, not speed: bench:http never gates anything on its figures.

describe('parseHttpArgs', () => {
  it('defaults to a full run on CPU time, sockets included', () => {
    expect(parseHttpArgs([])).toMatchObject({
      mode: 'full',
      only: [],
      sockets: true,
      metric: 'cpu',
      layout: 'process-per-variant',
    });
    expect(
      parseHttpArgs([
        '--quick',
        '--wall',
        '--no-sockets',
        '--rounds',
        '3',
        '--shared-process',
        '--generations',
        '3',
      ]),
    ).toMatchObject({
      generations: 3,
      mode: 'quick',
      metric: 'wall',
      layout: 'shared-process',
      sockets: false,
      rounds: 3,
    });
  });

  it('rejects unknown frameworks and bad round counts', () => {
    expect(() => parseHttpArgs(['--only', 'koa'])).toThrow(/--only takes express, .*; got koa/);
    expect(() => parseHttpArgs(['--rounds', '0'])).toThrow(/--rounds must be a positive integer/);
    expect(() => parseHttpArgs(['--generations', '1.5'])).toThrow(
      /--generations must be a positive integer, got 1\.5/,
    );
    expect(() => parseHttpArgs(['--fast'])).toThrow(/unknown option --fast/);
  });
});

describe('summarizeInject', () => {
  it('pairs every row with the bare and no-op rows round by round', () => {
    const row = (
      name: string,
      kind: InjectChildResult['variants'][number]['kind'],
      us: number[],
    ) => ({
      name,
      kind,
      cpuUs: us,
      wallUs: us.map((x) => x * 2),
      rounds: us.map((_, i) => i),
      non200: 0,
    });
    const child: InjectChildResult = {
      framework: 'express',
      requestsPerSample: 100,
      inFlight: 32,
      variants: [
        row('bare', 'bare', [10, 20, 30]),
        row('noop middleware', 'noop', [11, 21, 31]),
        row('sluice concurrency', 'concurrency', [12, 22, 32]),
      ],
    };
    const f = summarizeInject(child, 'cpu');
    const conc = f.rows.find((r) => r.kind === 'concurrency')!;
    expect(conc.us?.median).toBe(22);
    expect(conc.otherUs).toBe(44);
    expect(conc.overBare?.median).toBe(2);
    expect(conc.overNoop?.median).toBe(1);
    expect(conc.vsBare?.median).toBeCloseTo(22 / 20);
    expect(f.rows[0]?.overBare).toBeUndefined();
    expect(summarizeInject(child, 'wall').rows[2]?.overNoop?.median).toBe(2);
  });
});

describe('runHttpBench --smoke', () => {
  const smoke = {
    mode: 'smoke',
    sockets: false,
    rounds: 2,
    generations: undefined,
    metric: 'cpu',
    out: undefined,
    render: undefined,
    help: false,
  } as const;

  it('drives every framework in-process, one process per variant, and judges every target', async () => {
    const report = await runHttpBench({
      ...smoke,
      only: [],
      layout: 'process-per-variant',
    });
    expect(report.inProcess.layout).toBe('process-per-variant');
    // Smoke runs split their two rounds over two sets of processes.
    expect(report.inProcess.plan.generations).toBe(2);
    expect(report.inProcess.frameworks.map((f) => f.framework)).toEqual([...INJECT_FRAMEWORKS]);
    for (const f of report.inProcess.frameworks) {
      expect(f.skipped, f.framework).toBeUndefined();
      expect(
        f.rows.map((r) => r.kind),
        f.framework,
      ).toEqual(['bare', 'noop', 'concurrency', 'queued', 'rateLimit', 'peer']);
      for (const r of f.rows) {
        // Every request answered 200, and the queued row did queue and gave every permit back.
        expect(r.non200, `${f.framework} ${r.name}`).toBe(0);
        expect(r.note, `${f.framework} ${r.name}`).toBeUndefined();
        expect(r.samples.cpuUs, `${f.framework} ${r.name}`).toHaveLength(2);
        expect(r.samples.rounds, `${f.framework} ${r.name}`).toEqual([0, 1]);
        expect(r.us?.median, `${f.framework} ${r.name}`).toBeGreaterThan(0);
      }
    }
    expect(report.targets).toHaveLength(2 * INJECT_FRAMEWORKS.length);
    expect(report.targets.every((t) => t.ok !== undefined && t.spread !== undefined)).toBe(true);
    expect(report.sockets).toBeUndefined();

    const md = httpReportMarkdown(report);
    expect(md).toContain('### HTTP overhead in-process');
    expect(md).toContain('| framework | variant | µs/request |');
    expect(md).toContain('### Targets');
    expect(md).toMatch(/HTTP nestjs-fastify: sluice concurrency adds at most 1\.5 µs/);
    expect(md).toContain('Each variant in its own process');
  }, 180_000);

  it('can start all of a framework’s variants in one process', async () => {
    const report = await runHttpBench({ ...smoke, only: ['hono'], layout: 'shared-process' });
    expect(report.inProcess.layout).toBe('shared-process');
    const [hono] = report.inProcess.frameworks;
    expect(hono?.skipped).toBeUndefined();
    expect(hono?.rows.map((r) => [r.kind, r.samples.cpuUs.length, r.non200, r.note])).toEqual(
      ['bare', 'noop', 'concurrency', 'queued', 'rateLimit', 'peer'].map((k) => [
        k,
        2,
        0,
        undefined,
      ]),
    );
    expect(httpReportMarkdown(report)).toContain('All of a framework’s variants in one process');
  }, 60_000);
});
