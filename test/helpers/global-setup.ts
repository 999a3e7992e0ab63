// The e2e tests spawn the built CLI; build it when it is missing (plain `npx vitest`).
// With CLAUDE_CODE_E2E_VERSION set, install that Claude Code once, here, before the test
// files start (they would each wait for the install otherwise), and say what runs.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { E2E_VERSION_ENV, requestedVersion, resolveClaude } from './claude-install.js';

export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  if (!existsSync(`${root}/dist/cli.js`)) {
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
  }
  if (requestedVersion()) {
    const log = (l: string) => process.stderr.write(`${l}\n`);
    const c = resolveClaude({ log });
    log(`real-CLI tests run Claude Code ${c.version} (${E2E_VERSION_ENV}): ${c.bin}`);
  }
}
