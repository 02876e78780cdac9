// `pnpm bench:adaptive`: the deterministic simulation of issue 14. Prints the tables, checks
// the targets (PASS/MISS), writes docs/adaptive-limits.svg and the "Adaptive limits" section
// of docs/benchmarks.md (unless --no-write). `--seed <n>` changes the seed; `--no-sustained`
// skips the 10-minute creep check.

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chart, checksTable, resultsTable } from './report.js';
import { CONFIGS, check, DOWNSTREAM, PHASES, SUSTAINED } from './scenario.js';
import { type RunResult, simulate } from './simulation.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const START = '<!-- adaptive-simulation:start -->';
const END = '<!-- adaptive-simulation:end -->';

export async function runAll(seed: number, sustained: boolean, log: (line: string) => void) {
  const results = new Map<string, RunResult>();
  for (const config of CONFIGS) {
    log(`simulating ${config.name}`);
    results.set(
      config.name,
      await simulate({ seed, downstream: DOWNSTREAM, phases: PHASES, limits: config.limits }),
    );
  }
  let sustainedMax: number | undefined;
  if (sustained) {
    log('simulating gradient2, 10 minutes at 120 %');
    const gradient = CONFIGS.find((c) => c.name === 'gradient2')!;
    const run = await simulate({
      seed,
      downstream: DOWNSTREAM,
      phases: SUSTAINED,
      limits: gradient.limits,
    });
    sustainedMax = run.phases[0]!.limitMax;
  }
  return { results, checks: check(results, sustainedMax) };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const seedAt = args.indexOf('--seed');
  const seed = seedAt >= 0 ? Number(args[seedAt + 1]) : 1;
  const write = !args.includes('--no-write');
  const started = performance.now();
  const { results, checks } = await runAll(seed, !args.includes('--no-sustained'), (line) =>
    process.stderr.write(`${line}\n`),
  );
  const d = DOWNSTREAM;
  const section = [
    START,
    '',
    `Seed ${seed}. Downstream: capacity ${d.capacity} concurrent at ${d.baseMs} ms (log-normal noise σ ${d.noise}), service time × max(1, inFlight / capacity), deadline ${d.deadlineMs} ms; queue wait at most ${d.queueTimeoutMs} ms. Phases: ${PHASES.map((p) => `${p.name} (${p.seconds} s)`).join(', ')}; load relative to the full capacity; the warm-up is not scored. Virtual time; numbers are exact for the seed and do not depend on the machine.`,
    '',
    resultsTable(results),
    '',
    checksTable(checks),
    '',
    '![limit and p99 over virtual time](adaptive-limits.svg)',
    '',
    END,
  ].join('\n');
  process.stdout.write(`${section}\n`);
  const missed = checks.filter((c) => !c.pass).length;
  process.stderr.write(
    `${checks.length - missed} PASS, ${missed} MISS in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );
  if (!write) return;
  let t = 0;
  const starts = PHASES.map((p) => {
    const s = t;
    t += p.seconds * 1000;
    return s;
  });
  writeFileSync(
    resolve(root, 'docs/adaptive-limits.svg'),
    chart(
      results,
      starts,
      `sluice adaptive limits, simulated (seed ${seed}): ${PHASES.map((p) => p.name).join(' | ')}`,
    ),
  );
  const docPath = resolve(root, 'docs/benchmarks.md');
  const doc = readFileSync(docPath, 'utf8');
  const from = doc.indexOf(START);
  const to = doc.indexOf(END);
  const next =
    from >= 0 && to > from
      ? doc.slice(0, from) + section + doc.slice(to + END.length)
      : `${doc.trimEnd()}\n\n## Adaptive limits (simulation)\n\n\`pnpm bench:adaptive\` (apps/bench/src/adaptive) drives \`AdaptiveSemaphore\` through a deterministic discrete-event simulation. See [adaptive limits](adaptive-limits.md) for what the algorithms do.\n\n${section}\n`;
  writeFileSync(docPath, next);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
