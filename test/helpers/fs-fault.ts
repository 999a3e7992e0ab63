/**
 * Real filesystem faults for the reliability tests: a small tmpfs filled to 100% (ENOSPC),
 * then remounted read-only (EROFS), and the CLI run as an unprivileged user against a
 * directory without its write bit (EACCES). Both need root; `faultSkipReason` says why a
 * test must be skipped otherwise. Every mount is unmounted after the file's tests, even when
 * one fails, and a mount that stays busy is detached lazily: none is ever left behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { execa } from 'execa';
import { afterAll } from 'vitest';
import { BIN, cliEnv, type CliResult } from './env.js';

const mounts = new Set<string>();

function unmount(dir: string): void {
  for (let i = 0; i < 20; i++) {
    try {
      execFileSync('umount', [dir], { stdio: 'ignore' });
      mounts.delete(dir);
      return;
    } catch {
      // Busy for a moment (an agent's hook writing a signal): try again.
      execFileSync('sleep', ['0.1']);
    }
  }
  // Still busy: detach it now; the kernel frees it when the last user goes.
  execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
  mounts.delete(dir);
}

// Registered at import, after env.ts's clean-up (vitest runs after-hooks in reverse), so the
// mounts go before the temp dirs that hold them.
afterAll(() => {
  for (const dir of [...mounts]) {
    try {
      unmount(dir);
    } catch (err) {
      process.stderr.write(`fs-fault: cannot unmount ${dir}: ${(err as Error).message}\n`);
    }
  }
});

let tmpfsProbe: string | null | undefined;

/** Why a tmpfs fault cannot be made here (not root, not Linux, mount refused), or null. */
export function tmpfsSkipReason(): string | null {
  if (tmpfsProbe !== undefined) return tmpfsProbe;
  if (process.platform !== 'linux') return (tmpfsProbe = 'needs Linux (tmpfs)');
  if (process.getuid?.() !== 0) return (tmpfsProbe = 'needs root to mount a tmpfs');
  const dir = fs.mkdtempSync('/tmp/cf-fault-probe-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
    unmount(dir);
    tmpfsProbe = null;
  } catch (err) {
    tmpfsProbe = `cannot mount a tmpfs here: ${(err as Error).message.split('\n')[0]}`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return tmpfsProbe;
}

/** A tmpfs of `sizeKb` KB mounted on `dir`, with the faults a test turns on and off. */
export interface TmpfsFault {
  dir: string;
  /** Fills it to 100%: the next write that needs a new block fails with ENOSPC. */
  fill(): void;
  /** Frees the space `fill` took. */
  unfill(): void;
  /** Remounts it read-only (EROFS), or read-write again. */
  readOnly(on: boolean): void;
  unmount(): void;
}

/** Mounts a small tmpfs on `dir` (created if needed; what it held is hidden meanwhile). */
export function mountTmpfs(dir: string, sizeKb = 300): TmpfsFault {
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k,mode=0700`, 'tmpfs', dir]);
  mounts.add(dir);
  const fillers = () => fs.readdirSync(dir).filter((n) => n.startsWith('zz-filler-'));
  return {
    dir,
    fill() {
      // Big chunks first, then single bytes, until not one more block is left.
      for (const chunk of [64 * 1024, 4096, 1]) {
        for (let i = 0; ; i++) {
          try {
            fs.writeFileSync(path.join(dir, `zz-filler-${chunk}-${i}`), Buffer.alloc(chunk));
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
            break;
          }
        }
      }
      // An append still fits in the last block of a log: top each one up with blank lines
      // (which every reader skips), so an append fails as it would on a disk really full.
      const logs = fs
        .readdirSync(dir, { recursive: true, encoding: 'utf8' })
        .filter((n) => n.endsWith('.jsonl'));
      for (const log of logs) {
        try {
          for (;;) fs.appendFileSync(path.join(dir, log), '\n'.repeat(512));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        }
        try {
          for (;;) fs.appendFileSync(path.join(dir, log), '\n');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        }
      }
    },
    unfill() {
      for (const n of fillers()) fs.rmSync(path.join(dir, n), { force: true });
    },
    readOnly(on) {
      execFileSync('mount', ['-o', `remount,${on ? 'ro' : 'rw'}`, dir]);
    },
    unmount: () => unmount(dir),
  };
}

const UNPRIVILEGED = 'nobody';

/** Why the CLI cannot be run as an unprivileged user here, or null. */
export function unprivilegedSkipReason(): string | null {
  if (process.platform !== 'linux') return 'needs Linux (setpriv)';
  if (process.getuid?.() !== 0) return 'needs root to run the CLI as another user';
  try {
    execFileSync(
      'setpriv',
      [
        ...setprivArgs(),
        process.execPath,
        '-e',
        `require('fs').accessSync(${JSON.stringify(BIN)}, require('fs').constants.R_OK)`,
      ],
      { stdio: 'ignore' },
    );
    return null;
  } catch (err) {
    return `cannot run the CLI as ${UNPRIVILEGED}: ${(err as Error).message.split('\n')[0]}`;
  }
}

function setprivArgs(): string[] {
  return [`--reuid=${UNPRIVILEGED}`, '--regid=nogroup', '--clear-groups'];
}

/** The uid and gid of the unprivileged user. */
export function unprivilegedIds(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', UNPRIVILEGED]).toString().trim());
  const gid = Number(execFileSync('id', ['-g', UNPRIVILEGED]).toString().trim());
  return { uid, gid };
}

/** Gives the whole tree to the unprivileged user. */
export function chownTree(dir: string): void {
  const { uid, gid } = unprivilegedIds();
  execFileSync('chown', ['-R', `${uid}:${gid}`, dir]);
}

/** Runs a program as the unprivileged user (the environment as given, nothing inherited). */
export async function runAsUnprivileged(
  file: string,
  args: string[],
  opts: { env: Record<string, string | undefined>; cwd: string; input?: string },
): Promise<CliResult> {
  const res = await execa('setpriv', [...setprivArgs(), file, ...args], {
    cwd: opts.cwd,
    reject: false,
    input: opts.input,
    stdin: opts.input === undefined ? 'ignore' : undefined,
    extendEnv: false,
    env: opts.env,
    timeout: 60_000,
  });
  return { exitCode: res.exitCode ?? -1, stdout: String(res.stdout), stderr: String(res.stderr) };
}

/** Runs the built CLI as the unprivileged user, the way cron would run it for that user. */
export function runCliAsUnprivileged(
  args: string[],
  opts: { home: string; input?: string },
): Promise<CliResult> {
  return runAsUnprivileged(process.execPath, [BIN, ...args], {
    cwd: opts.home,
    input: opts.input,
    env: cliEnv(opts.home),
  });
}
