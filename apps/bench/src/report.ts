import type { Args } from './args.js';
import type { Environment } from './env.js';
import { type CaseResult, paired, type RowResult, type Spread, spread } from './harness.js';
import type { HttpResult } from './http/types.js';
import type { Sizes } from './types.js';

/** A row with its figures derived: rate and ratios to the fastest peer and to the floor. */
export interface ReportRow extends RowResult {
  /** ns per operation (time) or bytes per waiter (heap). */
  perOp?: number;
  opsPerSec?: number;
  /** median / fastest peer's median: 1 = as fast (or as small) as the best peer, < 1 better. */
  vsFastestPeer?: number;
  /** median / floor's median. */
  vsFloor?: number;
}

export interface ReportCase {
  scenario: number;
  id: string;
  title: string;
  variant: string;
  metric: 'time' | 'heap';
  n: number;
  fastestPeer?: string;
  rows: ReportRow[];
}

export interface Target {
  id: string;
  goal: string;
  /** The figure: the median over rounds of the per-round ratio (or size), with what it compares. */
  measured: string;
  /** Its spread: the interquartile range over the rounds, and how many rounds. */
  spread?: string;
  /** undefined when the cases it needs were not run. */
  ok: boolean | undefined;
}

export interface Report {
  schema: 1;
  date: string;
  mode: Args['mode'];
  /** What timed the runs (absent in reports written before the option existed: wall). */
  clock?: 'wall' | 'cpu';
  command: string;
  durationSeconds: number;
  environment: Environment & { loadAverageAtEnd: number };
  versions: Record<string, string>;
  sizes: Sizes;
  cases: ReportCase[];
  targets: Target[];
  http?: HttpResult;
}

const round = (x: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

export function summarize(result: CaseResult): ReportCase {
  const c = result.case;
  const measured = (r: RowResult): r is RowResult & { median: number } =>
    r.status === 'ok' && r.median !== undefined;
  const peers = result.rows.filter((r) => r.role === 'peer').filter(measured);
  const fastest = peers.reduce<(RowResult & { median: number }) | undefined>(
    (best, r) => (best === undefined || r.median < best.median ? r : best),
    undefined,
  );
  const floorRow = result.rows.filter(measured).find((r) => r.role === 'floor');
  const rows = result.rows.map((r): ReportRow => {
    if (!measured(r)) return { ...r };
    const row: ReportRow = { ...r, median: round(r.median, 3) };
    if (c.metric === 'time') {
      row.perOp = round((r.median * 1e6) / c.n, 2);
      row.opsPerSec = Math.round(c.n / (r.median / 1000));
    } else {
      row.perOp = round(r.median, 1);
    }
    if (fastest) row.vsFastestPeer = round(r.median / fastest.median, 3);
    if (floorRow) row.vsFloor = round(r.median / floorRow.median, 3);
    row.samples = r.samples.map((s) => round(s, 3));
    return row;
  });
  return {
    scenario: c.scenario,
    id: c.id,
    title: c.title,
    variant: c.variant,
    metric: c.metric,
    n: c.n,
    ...(fastest ? { fastestPeer: fastest.library } : {}),
    rows,
  };
}

const find = (cases: ReportCase[], id: string, library: string): ReportRow | undefined =>
  cases.find((c) => c.id === id)?.rows.find((r) => r.library === library && r.median !== undefined);

const SLUICE = '@sluice/core';

/** `a ÷ b` round by round (both rows ran in each round, interleaved), as a median with its IQR. */
function pairedRatio(a: ReportRow | undefined, b: ReportRow | undefined): Spread | undefined {
  if (!a?.rounds || !b?.rounds) return undefined;
  return paired(a, b, (x, y) => x / y);
}

export function fmtSpread(s: Spread, fmt: (x: number) => string = fmtRatio): string {
  return `${fmt(s.p25)}–${fmt(s.p75)} (${s.n} rounds)`;
}

/** A ratio target: `ratio` (a ÷ b per round) must stay at or below `most` (or at least `least`). */
function ratioTarget(
  id: string,
  goal: string,
  ratio: Spread | undefined,
  bound: { most: number } | { least: number },
  label: (median: string) => string,
): Target {
  if (ratio === undefined) return { id, goal, measured: 'not run', ok: undefined };
  return {
    id,
    goal,
    measured: label(fmtRatio(ratio.median)),
    spread: fmtSpread(ratio),
    ok: 'most' in bound ? ratio.median <= bound.most : ratio.median >= bound.least,
  };
}

/** The issue's targets, each the median over interleaved rounds of a per-round comparison. */
export function targets(cases: ReportCase[]): Target[] {
  const list: Target[] = [];
  const beatPeers = (id: string, label: string): void => {
    const c = cases.find((x) => x.id === id);
    const peer = c?.fastestPeer;
    const ratio = peer ? pairedRatio(find(cases, id, SLUICE), find(cases, id, peer)) : undefined;
    list.push(
      ratioTarget(
        id,
        `${label}: @sluice/core at most 1.00× the fastest peer`,
        ratio,
        { most: 1 },
        (m) => `${m} of ${peer}`,
      ),
    );
  };

  const permitFloor = 'floor: async permit';
  list.push(
    ratioTarget(
      'uncontended-vs-permit-floor',
      '1. uncontended acquire + release: at most 1.10× a do-nothing async acquire returning a permit',
      pairedRatio(find(cases, 'uncontended', SLUICE), find(cases, 'uncontended', permitFloor)),
      { most: 1.1 },
      (m) => `${m} of ${permitFloor}`,
    ),
  );
  for (const limit of [1, 10, 100])
    beatPeers(`handoff-limit-${limit}`, `2. hand-off, limit ${limit}`);
  beatPeers('run-limit-10', '3. run(), limit 10, all at once');
  beatPeers('run-uncontended', '8. run() uncontended, in sequence');

  const cancelIds = cases.filter((c) => c.scenario === 4).map((c) => c.id);
  const [small, large] = cancelIds;
  const s50 = small ? find(cases, small, SLUICE) : undefined;
  const s100 = large ? find(cases, large, SLUICE) : undefined;
  const growth = s50?.median && s100?.median ? s100.median / s50.median : undefined;
  // The floor (Node's own abort dispatch) is not quite linear either; the library's own share
  // is what sluice adds on top of it.
  const f50 = small ? find(cases, small, 'floor') : undefined;
  const f100 = large ? find(cases, large, 'floor') : undefined;
  const own =
    s50?.median && s100?.median && f50?.median && f100?.median && s50.median > f50.median
      ? (s100.median - f100.median) / (s50.median - f50.median)
      : undefined;
  const ownNote = own === undefined || own <= 0 ? '' : ` (above the floor: ${fmtRatio(own)})`;
  list.push({
    id: 'cancel-linear',
    goal: '4. cancellation linear: twice the waiters cost at most 2.2× (ratio of medians)',
    measured: growth === undefined ? 'not run' : `${fmtRatio(growth)}${ownNote}`,
    ok: growth === undefined ? undefined : growth <= 2.2,
  });
  list.push(
    ratioTarget(
      'cancel-vs-p-queue',
      `4. cancellation at least 5× faster than p-queue (${small ?? 'smaller size'})`,
      small ? pairedRatio(find(cases, small, 'p-queue'), s50) : undefined,
      { least: 5 },
      (m) => `${m} faster`,
    ),
  );

  const heap = find(cases, 'heap-per-waiter', SLUICE);
  const heapSpread = heap ? spread(heap.samples) : undefined;
  const bytes = (x: number): string => `${Math.round(x)} B`;
  list.push({
    id: 'heap-per-waiter',
    goal: '5. at most 200 bytes per queued waiter',
    measured: heapSpread === undefined ? 'not run' : bytes(heapSpread.median),
    ...(heapSpread ? { spread: fmtSpread(heapSpread, bytes) } : {}),
    ok: heapSpread === undefined ? undefined : heapSpread.median <= 200,
  });

  list.push(
    ratioTarget(
      'queue-vs-floor',
      '6. BoundedQueue within 2× of the floor at capacity 1024',
      pairedRatio(
        find(cases, 'queue-capacity-1024', SLUICE),
        find(cases, 'queue-capacity-1024', 'floor'),
      ),
      { most: 2 },
      (m) => `${m} of the floor`,
    ),
  );

  const burst = cases.find((c) => c.scenario === 9);
  const ring = 'floor: ideal ring';
  list.push(
    ratioTarget(
      'burst-vs-ideal-ring',
      '9. small bursts on one long-lived semaphore: at most 1.10× the ideal ring',
      burst ? pairedRatio(find(cases, burst.id, SLUICE), find(cases, burst.id, ring)) : undefined,
      { most: 1.1 },
      (m) => `${m} of the ${ring.slice(7)}`,
    ),
  );
  // Not one of the issue's targets: the same bound against the ring that resolves a permit
  // object too, which separates what `Promise<Permit>` costs from what sluice adds.
  const ringPermit = 'floor: ideal ring + permit';
  list.push(
    ratioTarget(
      'burst-vs-ideal-ring-permit',
      '9. (for reference) the same, against the ideal ring resolving a permit object',
      burst
        ? pairedRatio(find(cases, burst.id, SLUICE), find(cases, burst.id, ringPermit))
        : undefined,
      { most: 1.1 },
      (m) => `${m} of the ${ringPermit.slice(7)}`,
    ),
  );

  beatPeers('jobs-limit-10', '10. spawn + complete small jobs, limit 10');
  const jobHeap = find(cases, 'heap-per-pending-job', SLUICE);
  const pQueueHeap = find(cases, 'heap-per-pending-job', 'p-queue');
  list.push({
    id: 'heap-per-pending-job',
    goal: '11. memory per pending job at most p-queue’s',
    measured:
      jobHeap?.median === undefined || pQueueHeap?.median === undefined
        ? 'not run'
        : `${Math.round(jobHeap.median)} B vs ${Math.round(pQueueHeap.median)} B`,
    ok:
      jobHeap?.median === undefined || pQueueHeap?.median === undefined
        ? undefined
        : jobHeap.median <= pQueueHeap.median,
  });
  return list;
}

export function fmtRatio(x: number): string {
  return `${x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0)}×`;
}

function fmtMs(ms: number): string {
  return ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0);
}

function fmtRate(perSec: number): string {
  if (perSec >= 1e6) return `${(perSec / 1e6).toFixed(2)} M/s`;
  if (perSec >= 1e3) return `${(perSec / 1e3).toFixed(0)} k/s`;
  return `${perSec.toFixed(0)} /s`;
}

const cell = (s: string): string => s.replace(/\|/g, '\\|');

function rowCells(c: ReportCase, r: ReportRow): string[] {
  const name = r.role === 'peer' ? r.library : `**${r.library}**`;
  const api = r.api === '—' ? '—' : `\`${r.api}\``;
  if (r.median === undefined) {
    const what = r.status === 'error' ? 'error' : 'n/a';
    return [c.variant, name, api, what, '', '', '', r.note ?? ''];
  }
  const ratio = (x: number | undefined): string => (x === undefined ? '—' : fmtRatio(x));
  // The spread of the row's own rounds: half its interquartile range, relative to the median.
  const s = r.samples.length > 1 ? spread(r.samples) : undefined;
  const pm = s && s.median > 0 ? ` ±${Math.round(((s.p75 - s.p25) / 2 / s.median) * 100)}%` : '';
  if (c.metric === 'heap') {
    return [
      c.variant,
      name,
      api,
      `${Math.round(r.median)} B${pm}`,
      '',
      ratio(r.vsFastestPeer),
      ratio(r.vsFloor),
      r.note ?? '',
    ];
  }
  return [
    c.variant,
    name,
    api,
    `${fmtMs(r.median)} ms${pm}`,
    fmtRate(r.opsPerSec ?? 0),
    ratio(r.vsFastestPeer),
    ratio(r.vsFloor),
    r.note ?? '',
  ];
}

/** Markdown: one table per scenario (its settings as rows), then the targets. */
export function markdown(report: Report): string {
  const out: string[] = [];
  const env = report.environment;
  out.push(
    `Node ${env.node} (V8 ${env.v8}), ${env.cpu} × ${env.cores}, ${env.platform}; ` +
      `mode ${report.mode}${report.clock === 'cpu' ? ', timed by process CPU time' : ''}, load average ${env.loadAverage} → ${env.loadAverageAtEnd}; ${report.date}`,
    '',
    `Peers: ${Object.entries(report.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    '',
    'Medians of the repetitions (± half their interquartile range). “× fastest peer”: median ÷ the fastest peer’s median at the same ' +
      'setting (below 1 is faster). “× floor”: median ÷ the floor’s (a loop that only awaits an ' +
      'already-resolved promise once per operation). n/a: the library has no such capability.',
    '',
  );
  const byScenario = new Map<number, ReportCase[]>();
  for (const c of report.cases) {
    const list = byScenario.get(c.scenario) ?? [];
    list.push(c);
    byScenario.set(c.scenario, list);
  }
  for (const [scenario, list] of byScenario) {
    const first = list[0]!;
    const sizes = [...new Set(list.map((c) => c.n))].map((n) => n.toLocaleString('en-US'));
    out.push(`### ${scenario}. ${first.title} (n = ${sizes.join(', ')})`, '');
    const heap = first.metric === 'heap';
    out.push(
      `| setting | library | API | ${heap ? 'bytes/waiter' : 'median'} | ${heap ? '' : 'ops/s'} | × fastest peer | × floor | note |`,
      '|---|---|---|--:|--:|--:|--:|---|',
    );
    for (const c of list) {
      for (const r of c.rows) out.push(`| ${rowCells(c, r).map(cell).join(' | ')} |`);
    }
    out.push('');
  }
  if (report.http) out.push(...httpMarkdown(report.http), '');
  const judged = report.targets.filter((t) => t.ok !== undefined);
  if (judged.length === 0) return `${out.join('\n')}\n`;
  out.push(...targetsMarkdown(report.targets));
  if (report.mode !== 'full') {
    out.push(
      '',
      `_${report.mode} run: small sizes, indicative only; the targets hold for a full run._`,
    );
  }
  return `${out.join('\n')}\n`;
}

/** The PASS/MISS table (shared with bench:http). */
export function targetsMarkdown(list: readonly Target[]): string[] {
  const out = [
    '### Targets',
    '',
    'Each figure is the median over the interleaved rounds of a per-round comparison (the two ' +
      'rows ran in the same round); the spread is its interquartile range.',
    '',
    '| target | measured (median) | spread (IQR) | |',
    '|---|---|---|---|',
  ];
  for (const t of list) {
    const mark = t.ok === undefined ? '—' : t.ok ? 'PASS' : '**MISS**';
    out.push(`| ${cell(t.goal)} | ${cell(t.measured)} | ${cell(t.spread ?? '—')} | ${mark} |`);
  }
  return out;
}

const frameworkName = (f: string): string => (f === 'node' ? 'node:http' : f);

export function httpMarkdown(http: HttpResult): string[] {
  const out = [
    `### HTTP overhead (autocannon, ${http.connections} connections, ${http.durationSeconds} s × ${http.reps}, GET / → "hello")`,
    '',
    '| framework | variant | req/s (median) | p99 latency | × bare | server CPU/request | CPU × bare | note |',
    '|---|---|--:|--:|--:|--:|--:|---|',
  ];
  for (const f of http.frameworks) {
    if (f.skipped) {
      out.push(`| ${frameworkName(f.framework)} | — | | | | | | skipped: ${cell(f.skipped)} |`);
      continue;
    }
    for (const v of f.variants) {
      const rps = v.medianRps === undefined ? '—' : Math.round(v.medianRps).toLocaleString('en-US');
      const p99 = v.p99Ms === undefined ? '—' : `${v.p99Ms} ms`;
      const ratio = v.vsBare === undefined ? '—' : fmtRatio(v.vsBare);
      const cpu = v.cpuUsPerRequest === undefined ? '—' : `${v.cpuUsPerRequest.toFixed(1)} µs`;
      const cpuRatio = v.cpuVsBare === undefined ? '—' : fmtRatio(v.cpuVsBare);
      out.push(
        `| ${frameworkName(f.framework)} | ${cell(v.name)} | ${rps} | ${p99} | ${ratio} | ${cpu} | ${cpuRatio} | ${cell(v.note ?? '')} |`,
      );
    }
  }
  return out;
}
