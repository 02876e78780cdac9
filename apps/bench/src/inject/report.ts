import { paired } from '../harness.js';
import { fmtRatio, fmtSpread, type Target } from '../report.js';
import type { InjectFramework, InjectResult, InjectRow } from './driver.js';

/** Most µs per request sluice `concurrency` may add over a do-nothing middleware or guard. */
export const CONCURRENCY_BUDGET_US = 1.5;

const fmtUs = (x: number): string => (Math.abs(x) < 10 ? x.toFixed(2) : x.toFixed(1));
const signedUs = (x: number): string => `${x >= 0 ? '+' : '−'}${fmtUs(Math.abs(x))}`;
const cell = (s: string): string => s.replace(/\|/g, '\\|');

/** Per framework: concurrency within 1.5 µs of the no-op; rateLimit at least the peer's throughput. */
export function injectTargets(result: InjectResult): Target[] {
  const list: Target[] = [];
  for (const f of result.frameworks) {
    const row = (kind: InjectRow['kind']) => f.rows.find((r) => r.kind === kind);
    const conc = row('concurrency');
    const noop = row('noop');
    const over = conc?.overNoop;
    list.push({
      id: `http-concurrency-${f.framework}`,
      goal: `HTTP ${f.framework}: sluice concurrency adds at most ${CONCURRENCY_BUDGET_US} µs per request over ${noop?.name ?? 'the no-op'}`,
      measured: over
        ? `${signedUs(over.median)} µs`
        : f.skipped
          ? `skipped: ${f.skipped}`
          : 'not run',
      ...(over ? { spread: fmtSpread(over, (x) => `${signedUs(x)} µs`) } : {}),
      ok: over === undefined ? undefined : over.median <= CONCURRENCY_BUDGET_US,
    });
    const rl = row('rateLimit');
    const peer = row('peer');
    const metric = result.metric;
    const speed =
      rl && peer
        ? paired(
            {
              samples: metric === 'cpu' ? peer.samples.cpuUs : peer.samples.wallUs,
              rounds: peer.samples.rounds,
            },
            {
              samples: metric === 'cpu' ? rl.samples.cpuUs : rl.samples.wallUs,
              rounds: rl.samples.rounds,
            },
            (x, y) => x / y,
          )
        : undefined;
    list.push({
      id: `http-ratelimit-${f.framework}`,
      goal: `HTTP ${f.framework}: sluice rateLimit at least 1.00× the throughput of ${peer?.name ?? 'the peer'}`,
      measured: speed
        ? `${fmtRatio(speed.median)} of ${peer?.name}`
        : f.skipped
          ? 'skipped'
          : 'not run',
      ...(speed ? { spread: fmtSpread(speed) } : {}),
      ok: speed === undefined ? undefined : speed.median >= 1,
    });
  }
  return list;
}

function frameworkTable(f: InjectFramework): string[] {
  if (f.skipped) return [`| ${f.framework} | — | | | | | | | skipped: ${cell(f.skipped)} |`];
  return f.rows.map((r) => {
    const us = r.us ? `${fmtUs(r.us.median)} µs ±${fmtUs((r.us.p75 - r.us.p25) / 2)}` : '—';
    const other = r.otherUs === undefined ? '—' : `${fmtUs(r.otherUs)} µs`;
    const d = (s: InjectRow['overBare']) =>
      s ? `${signedUs(s.median)} (${signedUs(s.p25)}…${signedUs(s.p75)})` : '—';
    const x = (s: InjectRow['vsBare']) => (s ? fmtRatio(s.median) : '—');
    return `| ${f.framework} | ${cell(r.name)} | ${us} | ${other} | ${d(r.overBare)} | ${d(r.overNoop)} | ${x(r.vsBare)} | ${x(r.vsNoop)} | ${cell(r.note ?? '')} |`;
  });
}

const sets = (n: number): string => (n === 1 ? 'one set' : `${n} sets`);

export function injectMarkdown(result: InjectResult): string[] {
  const clock = result.metric === 'cpu' ? 'CPU time' : 'wall-clock time';
  const other = result.metric === 'cpu' ? 'wall' : 'CPU';
  const sizes = result.frameworks
    .filter((f) => f.requestsPerSample !== undefined)
    .map((f) => `${f.framework} ${f.requestsPerSample?.toLocaleString('en-US')}`)
    .join(', ');
  return [
    `### HTTP overhead in-process (no sockets; ${result.plan.rounds} interleaved rounds, ${result.plan.inFlight} requests in flight)`,
    '',
    `Process ${clock} per request, median of the rounds ± half the IQR; requests per sample: ${sizes}. ` +
      (result.layout === 'process-per-variant'
        ? `Each variant in its own process, the rounds alternating between the processes and split over ${sets(result.plan.generations ?? 1)} of fresh processes. `
        : 'All of a framework’s variants in one process. ') +
      '“+µs” columns: the per-round difference to the bare (or no-op) row, median (IQR); ' +
      '“×” columns: the per-round ratio, median. The queued row runs at limit 10 with the same ' +
      'requests in flight, so most of them wait.',
    '',
    `| framework | variant | µs/request | ${other} µs/request | +µs over bare | +µs over no-op | × bare | × no-op | note |`,
    '|---|---|--:|--:|--:|--:|--:|--:|---|',
    ...result.frameworks.flatMap((f) => frameworkTable(f)),
  ];
}
