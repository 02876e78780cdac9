import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// The root scripts the demo tests run end to end (scripts/demo.mjs, scripts/demo-fleet.mjs).
export const root = fileURLToPath(new URL('../../../', import.meta.url));
export const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));

/** Runs `node <script> ...args` from the repository root; never rejects. */
export function runScript(
  script: string,
  args: string[],
  timeout = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [script, ...args],
      { cwd: root, timeout },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: number }).code ?? 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
