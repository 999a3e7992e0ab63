// The tests spawn the built CLI (dist/), so build it whenever it is missing or older than a
// source file, the build script or package.json: a test never runs yesterday's bundle.
// With CLAUDE_CODE_E2E_VERSION set, install that Claude Code once, here, before the test
// files start (they would each wait for the install otherwise), and say what runs.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { E2E_VERSION_ENV, requestedVersion, resolveClaude } from './claude-install.js';

function newestMtime(entry: string): number {
  const st = fs.statSync(entry);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of fs.readdirSync(entry))
    newest = Math.max(newest, newestMtime(path.join(entry, name)));
  return newest;
}

/** Whether dist/ is missing or older than what it is built from. */
export function buildIsStale(root: string): boolean {
  let built: number;
  try {
    built = fs.statSync(path.join(root, 'dist', 'cli.js')).mtimeMs;
  } catch {
    return true;
  }
  const sources = ['src', 'scripts/build.mjs', 'package.json'].map((p) => path.join(root, p));
  return sources.some((p) => newestMtime(p) > built);
}

export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  if (buildIsStale(root)) {
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
  }
  if (requestedVersion()) {
    const log = (l: string) => process.stderr.write(`${l}\n`);
    const c = resolveClaude({ log });
    log(`real-CLI tests run Claude Code ${c.version} (${E2E_VERSION_ENV}): ${c.bin}`);
  }
}
