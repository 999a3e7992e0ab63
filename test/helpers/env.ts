/** Test helpers: temp dirs, the built CLI, private tmux servers, and workers. All cleaned up. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { build } from 'esbuild';
import { afterAll } from 'vitest';
import { Tmux } from '../../src/lib/core/tmux.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = path.join(ROOT, 'bin', 'claude-failover.js');

const cleanups: Array<() => Promise<void> | void> = [];
// Registered when a test file imports this module (collection time). An afterAll registered
// later, from inside a test or a beforeAll, is never run by vitest: the temp dirs and tmux
// servers leaked.
afterAll(async () => {
  for (const f of cleanups.splice(0).reverse()) {
    // A cleanup that fails leaves litter, not a wrong result: say so, and go on.
    await Promise.resolve()
      .then(f)
      .catch((err: Error) => process.stderr.write(`cleanup: ${err.message}\n`));
  }
});
function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

/** A fresh temp dir, removed after the file's tests. */
export function tempDir(prefix = 'cf-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  // Agents killed with the tmux server may still be writing for a moment: retry.
  onCleanup(() =>
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 }),
  );
  return dir;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Kills a tmux server and waits (up to 10 s) for the agents of its panes to exit, so their
 * files are no longer being written when the temp dirs go; what is left is killed.
 */
export async function killTmuxAndWait(tmux: Tmux): Promise<void> {
  const pids = (await tmux.listPanes().catch(() => []))
    .map((p) => p.pid)
    .filter((p): p is number => p !== null);
  await tmux.killServer().catch(() => undefined);
  const deadline = Date.now() + 10_000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of pids.filter(alive)) {
    try {
      process.kill(-pid, 'SIGKILL'); // its process group: the agent and what it runs
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  const socketFile = path.join(os.tmpdir(), `tmux-${process.getuid?.() ?? 0}`, tmux.socket ?? '');
  if (tmux.socket) fs.rmSync(socketFile, { force: true });
}

/** A unique tmux socket name whose server is killed after the file's tests. */
export function tmuxSocket(): { socket: string; tmux: Tmux } {
  const socket = `cf-test-${process.pid}-${randomBytes(3).toString('hex')}`;
  const tmux = new Tmux(socket);
  onCleanup(() => killTmuxAndWait(tmux));
  return { socket, tmux };
}

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The environment the tests run the CLI in, as cron would: NO_COLOR, TZ=UTC, CI, a private HOME. */
export function cliEnv(home: string): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_STATE_HOME: path.join(home, '.local', 'state'),
    NO_COLOR: '1',
    TZ: 'UTC',
    CI: '1',
  };
}

/** Runs the built CLI the way cron would: no TTY, NO_COLOR, TZ=UTC, CI, a private HOME. */
export async function runCli(
  args: string[],
  opts: { home: string; cwd?: string; env?: Record<string, string | undefined>; input?: string } = {
    home: os.tmpdir(),
  },
): Promise<CliResult> {
  const res = await execa(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? opts.home,
    reject: false,
    input: opts.input,
    stdin: opts.input === undefined ? 'ignore' : undefined,
    extendEnv: false,
    env: { ...cliEnv(opts.home), ...opts.env },
    timeout: 60_000,
  });
  return { exitCode: res.exitCode ?? -1, stdout: String(res.stdout), stderr: String(res.stderr) };
}

/** Writes a config YAML into `dir` and returns its path. */
export function writeConfig(dir: string, yaml: string, name = 'config.yaml'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, yaml);
  return file;
}

/** A minimal valid config for a sandbox under `home`. */
export function sandboxConfig(home: string, extra = ''): string {
  return `stateDir: ${home}/state
sharedProjectsDir: ${home}/shared/projects
accounts:
  - { name: primary, configDir: ${home}/accounts/primary, priority: 1 }
  - { name: backup, configDir: ${home}/accounts/backup, priority: 2 }
projects:
  - { name: api, path: ${home}/src/api }
sessions:
  - { name: 'ccl-{0..2}', project: api }
lock: { waitFor: 2s, staleAfter: 2s }
${extra}`;
}

const builtWorkers = new Map<string, string>();

/** Bundles a worker script from test/workers/ to plain JS, so it starts as fast as node does. */
export async function worker(name: string): Promise<string> {
  const cached = builtWorkers.get(name);
  if (cached) return cached;
  const outDir = tempDir('cf-worker-');
  const outfile = path.join(outDir, `${name}.mjs`);
  await build({
    entryPoints: [path.join(ROOT, 'test', 'workers', `${name}.ts`)],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'error',
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  });
  builtWorkers.set(name, outfile);
  return outfile;
}

/** Starts a worker process (not awaited). */
export function startWorker(file: string, args: string[]): ResultPromise {
  return execa(process.execPath, [file, ...args], { reject: false, stdin: 'ignore' });
}

/** Resolves when the child's stdout has printed `text`. */
export function waitForOutput(
  child: ResultPromise,
  text: string,
  timeoutMs = 20_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for '${text}' (got '${seen}')`)),
      timeoutMs,
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/** Polls `probe` until it returns a value other than undefined/false/null; throws at the deadline. */
export async function waitFor<T>(
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  what: string,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`,
      );
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The pid of the live agent in a session's pane (waits for one). */
export function agentPid(tmux: Tmux, session: string): Promise<number> {
  return waitFor(async () => {
    const pane = (await tmux.sessions()).get(session);
    return pane && !pane.dead && pane.pid;
  }, `a live agent in ${session}`);
}

/**
 * A HOME whose login profile resets PATH to /usr/bin:/bin (as Debian's, a version manager's
 * or a hand-written one may), as Claude Code's Bash tool sees it, and a directory outside
 * that PATH holding an executable `claude-failover` (a fake that prints its argv).
 */
export function loginResetHome(): { home: string; binDir: string; env: Record<string, string> } {
  const home = tempDir('cf-login-');
  const profile = 'PATH=/usr/bin:/bin\nexport PATH\n';
  // bash -l reads the first of ~/.bash_profile, ~/.bash_login and ~/.profile; sh reads ~/.profile.
  fs.writeFileSync(path.join(home, '.profile'), profile);
  fs.writeFileSync(path.join(home, '.bash_profile'), profile);
  const binDir = path.join(home, 'npm-global', 'bin');
  fs.mkdirSync(binDir, { recursive: true });
  const fake = path.join(binDir, 'claude-failover');
  fs.writeFileSync(fake, '#!/bin/sh\necho "fake claude-failover $*"\n');
  fs.chmodSync(fake, 0o755);
  return {
    home,
    binDir,
    env: {
      HOME: home,
      SHELL: '/bin/bash',
      PATH: `${binDir}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    },
  };
}
