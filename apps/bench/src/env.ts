import { readFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';

const appRoot = new URL('../', import.meta.url);

/** The installed version of a dependency of this app (read from its package.json on disk). */
export function versionOf(packageName: string): string {
  try {
    const file = new URL(`node_modules/${packageName}/package.json`, appRoot);
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export interface Environment {
  node: string;
  v8: string;
  platform: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  /** 1-minute load average when the run started: other work on a shared machine shows here. */
  loadAverage: number;
  gcExposed: boolean;
}

export function environment(): Environment {
  const list = cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: `${platform()} ${release()} ${process.arch}`,
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: Math.round(loadavg()[0]! * 100) / 100,
    gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function',
  };
}
