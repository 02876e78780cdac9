// Markdown tables and an SVG chart of the simulation's results, without dependencies.

import type { Check } from './scenario.js';
import type { RunResult } from './simulation.js';

const ms = (value: number): string => (Number.isNaN(value) ? 'n/a' : `${value.toFixed(0)}`);

export function resultsTable(results: Map<string, RunResult>): string {
  const lines = [
    '| phase | limiter | goodput/s | p50 ms | p99 ms | timed out | shed | limit min / mean / max |',
    '|---|---|--:|--:|--:|--:|--:|--:|',
  ];
  const first = [...results.values()][0]!;
  first.phases.forEach((phase, i) => {
    for (const [name, result] of results) {
      const p = result.phases[i]!;
      lines.push(
        `| ${phase.name} | ${name} | ${p.goodput.toFixed(0)} | ${ms(p.p50)} | ${ms(p.p99)} | ${p.timedOut} | ${p.shed} | ${p.limitMin} / ${p.limitMean.toFixed(0)} / ${p.limitMax} |`,
      );
    }
  });
  return lines.join('\n');
}

export function checksTable(checks: Check[]): string {
  const lines = ['| target | limiter | phase | value | result |', '|---|---|---|--:|---|'];
  for (const c of checks) {
    lines.push(
      `| ${c.target} | ${c.config} | ${c.phase} | ${c.value} | ${c.pass ? 'PASS' : '**MISS**'} |`,
    );
  }
  return lines.join('\n');
}

const COLORS = ['#999999', '#2b8a3e', '#c92a2a', '#e67700', '#1c7ed6', '#7048e8'];

/** Two panels over virtual time: the limit, and the p99 latency of each second. */
export function chart(
  results: Map<string, RunResult>,
  phaseStarts: number[],
  title: string,
): string {
  const width = 960;
  const panel = 220;
  const left = 60;
  const top = 40;
  const gap = 50;
  const right = 190;
  const plotWidth = width - left - right;
  const entries = [...results.entries()];
  const end = Math.max(...entries.flatMap(([, r]) => r.limit.map(([t]) => t))) + 100;
  const maxLimit = Math.max(
    60,
    ...entries.flatMap(([, r]) => r.limit.map(([, l]) => Math.min(l, 120))),
  );
  const maxP99 = Math.max(
    100,
    ...entries.flatMap(([, r]) => r.p99.map(([, v]) => (Number.isNaN(v) ? 0 : v))),
  );
  const x = (t: number): number => left + (t / end) * plotWidth;
  const y = (value: number, max: number, offset: number): number =>
    offset + panel - (Math.min(value, max) / max) * panel;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${width}" height="${top + 2 * panel + gap + 40}" font-family="sans-serif" font-size="11">`,
    `<title>${title}</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="20" font-size="14">${title}</text>`,
  );
  const panels: Array<[string, number, number]> = [
    ['limit (capped at 120 in the chart)', maxLimit, top],
    ['p99 latency per second, ms', maxP99, top + panel + gap],
  ];
  for (const [label, max, offset] of panels) {
    parts.push(
      `<rect x="${left}" y="${offset}" width="${plotWidth}" height="${panel}" fill="none" stroke="#ccc"/>`,
      `<text x="${left}" y="${offset - 6}">${label}</text>`,
      `<text x="${left - 6}" y="${offset + 4}" text-anchor="end">${max.toFixed(0)}</text>`,
      `<text x="${left - 6}" y="${offset + panel}" text-anchor="end">0</text>`,
    );
    for (const start of phaseStarts.slice(1)) {
      parts.push(
        `<line x1="${x(start)}" x2="${x(start)}" y1="${offset}" y2="${offset + panel}" stroke="#ddd" stroke-dasharray="4 3"/>`,
      );
    }
  }
  entries.forEach(([name, result], i) => {
    const color = COLORS[i % COLORS.length]!;
    const limitPoints = result.limit.map(
      ([t, l]) => `${x(t).toFixed(1)},${y(l, maxLimit, top).toFixed(1)}`,
    );
    const p99Points = result.p99
      .filter(([, v]) => !Number.isNaN(v))
      .map(([t, v]) => `${x(t).toFixed(1)},${y(v, maxP99, top + panel + gap).toFixed(1)}`);
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="1.2" points="${limitPoints.join(' ')}"/>`,
      `<polyline fill="none" stroke="${color}" stroke-width="1.2" points="${p99Points.join(' ')}"/>`,
      `<rect x="${width - right + 15}" y="${top + i * 18}" width="12" height="3" fill="${color}"/>`,
      `<text x="${width - right + 32}" y="${top + i * 18 + 5}">${name}</text>`,
    );
  });
  parts.push(
    `<text x="${left}" y="${top + 2 * panel + gap + 25}">virtual seconds 0 – ${(end / 1000).toFixed(0)}; dashed lines: phase changes</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}
