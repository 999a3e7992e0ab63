/**
 * Which Claude Code binary the real-CLI tests run: the pinned devDependency, or, with
 * `CLAUDE_CODE_E2E_VERSION=<version>`, that version installed once with npm into
 * `$XDG_CACHE_HOME/claude-failover/claude-code/<version>` (default `~/.cache/...`).
 *
 * No vitest imports: vitest's globalSetup loads this too (it installs there, before any test
 * file starts), and a test file that finds the version missing installs it on first use. Two
 * processes installing at once do not clash: a lock dir serializes them, and each installs
 * into a temp dir renamed into place when the binary answers `--version`, so a half install
 * is never taken for a whole one.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The env variable naming the Claude Code version to test; unset = the pinned one. */
export const E2E_VERSION_ENV = 'CLAUDE_CODE_E2E_VERSION';

/** The pinned CLI: the devDependency's native binary. */
export const PINNED_CLAUDE_BIN = path.join(ROOT, 'node_modules', '.bin', 'claude');

/** A version or dist-tag, safe as a path segment. */
const VERSION_RE = /^[0-9A-Za-z][0-9A-Za-z.+-]*$/;

const LOCK_STALE_MS = 15 * 60_000;
const LOCK_WAIT_MS = 20 * 60_000;

/** The requested version, or null for the pinned one. Throws on a malformed value. */
export function requestedVersion(env: NodeJS.ProcessEnv = process.env): string | null {
  const v = env[E2E_VERSION_ENV]?.trim();
  if (!v) return null;
  if (!VERSION_RE.test(v))
    throw new Error(`${E2E_VERSION_ENV}=${JSON.stringify(v)} is not a version (e.g. 2.1.332)`);
  return v;
}

/** `$XDG_CACHE_HOME/claude-failover/claude-code` (default `~/.cache/...`). */
export function claudeCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'claude-failover', 'claude-code');
}

/** Where `version` is (or would be) installed, and its `claude` binary. */
export function cachedInstall(
  version: string,
  env: NodeJS.ProcessEnv = process.env,
): { dir: string; bin: string } {
  const dir = path.join(claudeCacheRoot(env), version);
  return { dir, bin: path.join(dir, 'node_modules', '.bin', 'claude') };
}

/** What `claude --version` prints first (`2.1.332`), or null when it does not run. */
export function binaryVersion(bin: string): string | null {
  try {
    const out = execFileSync(bin, ['--version'], {
      encoding: 'utf8',
      timeout: 30_000,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        DISABLE_AUTOUPDATER: '1',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      },
    });
    return /^\s*(\S+)/.exec(out)?.[1] ?? null;
  } catch {
    return null;
  }
}

/** A synchronous sleep (install runs at import time in a worker, where nothing else waits). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes `<dir>.lock` (a dir holding the owner's pid); breaks it when its owner is gone. */
function lock(lockDir: string): () => void {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(path.join(lockDir, 'pid'), String(process.pid));
      return () => fs.rmSync(lockDir, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let stale = false;
    try {
      const pid = Number(fs.readFileSync(path.join(lockDir, 'pid'), 'utf8'));
      const age = Date.now() - fs.statSync(lockDir).mtimeMs;
      stale = (Number.isInteger(pid) && pid > 0 && !pidAlive(pid)) || age > LOCK_STALE_MS;
    } catch {
      // Just made, pid not written yet (or just removed): wait.
    }
    if (stale) fs.rmSync(lockDir, { recursive: true, force: true });
    else if (Date.now() > deadline) throw new Error(`timed out waiting for ${lockDir}`);
    else sleepSync(500);
  }
}

/**
 * Installs `@anthropic-ai/claude-code@<version>` into the cache unless it is there, and
 * returns its binary and what its `--version` says. Synchronous: takes a minute or two on a
 * cold npm cache, nothing on a warm install.
 */
export function ensureClaudeVersion(
  version: string,
  opts: { env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {},
): { bin: string; version: string } {
  const env = opts.env ?? process.env;
  const { dir, bin } = cachedInstall(version, env);
  const ready = () => (fs.existsSync(bin) ? binaryVersion(bin) : null);
  let found = ready();
  if (!found) {
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    const unlock = lock(`${dir}.lock`);
    try {
      found = ready();
      if (!found) {
        // A broken leftover (a binary that does not run) goes; the fresh one replaces it.
        fs.rmSync(dir, { recursive: true, force: true });
        const tmp = `${dir}.tmp-${process.pid}`;
        fs.rmSync(tmp, { recursive: true, force: true });
        fs.mkdirSync(tmp, { recursive: true });
        fs.writeFileSync(
          path.join(tmp, 'package.json'),
          `${JSON.stringify({ name: 'claude-code-e2e', private: true }, null, 2)}\n`,
        );
        opts.log?.(`installing @anthropic-ai/claude-code@${version} into ${dir}`);
        try {
          execFileSync(
            'npm',
            [
              'install',
              '--prefix',
              tmp,
              '--no-audit',
              '--no-fund',
              '--save-exact',
              '--loglevel=error',
              `@anthropic-ai/claude-code@${version}`,
            ],
            // npm warns that the package wants node>=22: harmless, the bin is native.
            { stdio: ['ignore', 'pipe', 'pipe'], timeout: 15 * 60_000, env },
          );
        } catch (err) {
          fs.rmSync(tmp, { recursive: true, force: true });
          const e = err as { stderr?: Buffer; message: string };
          throw new Error(
            `npm install @anthropic-ai/claude-code@${version} failed: ${e.stderr?.toString() || e.message}`,
          );
        }
        const tmpBin = path.join(tmp, 'node_modules', '.bin', 'claude');
        const got = binaryVersion(tmpBin);
        if (!got) {
          fs.rmSync(tmp, { recursive: true, force: true });
          throw new Error(`the installed ${tmpBin} does not run \`--version\``);
        }
        // node_modules/.bin links are relative, so the tree works under its new name.
        fs.renameSync(tmp, dir);
        found = ready();
      }
    } finally {
      unlock();
    }
  }
  if (!found) throw new Error(`${bin} does not run \`--version\``);
  // An exact version must be what runs (a dist-tag such as `latest` is whatever it was).
  if (/^\d+\.\d+\.\d+/.test(version) && found !== version)
    throw new Error(`${bin} says it is ${found}, not ${version}`);
  return { bin, version: found };
}

/**
 * The binary the real-CLI tests run and its version as `--version` reports it: the
 * requested version (installed on first use) or the pinned devDependency.
 */
export function resolveClaude(opts: { log?: (line: string) => void } = {}): {
  bin: string;
  version: string | null;
  pinned: boolean;
} {
  const wanted = requestedVersion();
  if (wanted) return { ...ensureClaudeVersion(wanted, opts), pinned: false };
  return { bin: PINNED_CLAUDE_BIN, version: binaryVersion(PINNED_CLAUDE_BIN), pinned: true };
}
