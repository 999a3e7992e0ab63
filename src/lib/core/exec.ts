/**
 * Runs external programs through execa: argv arrays (never a shell), a cwd, a timeout and
 * a bounded buffer, with failures classified as not-found, timeout, signal or exit.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ExternalCommandError } from './errors.js';

export interface RunOptions {
  cwd?: string;
  /** Milliseconds; default 10 s. */
  timeout?: number;
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** Replace the environment instead of extending process.env. */
  extendEnv?: boolean;
  /** Do not throw on a non-zero exit; return it. */
  reject?: boolean;
  maxBuffer?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Runs `file args`; throws ExternalCommandError unless `reject: false`. */
export async function run(
  file: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  const { execa } = await import('execa');
  const result = await execa(file, args, {
    cwd: opts.cwd ?? process.cwd(),
    timeout: opts.timeout ?? 10_000,
    input: opts.input,
    stdin: opts.input === undefined ? 'ignore' : undefined,
    env: opts.env,
    extendEnv: opts.extendEnv ?? true,
    reject: false,
    maxBuffer: opts.maxBuffer ?? 16 * 1024 * 1024,
    stripFinalNewline: false,
    encoding: 'utf8',
  });
  const stdout = String(result.stdout ?? '');
  const stderr = String(result.stderr ?? '');
  const exitCode = result.exitCode ?? -1;
  if (result.failed && (opts.reject !== false || result.exitCode === undefined)) {
    const cmd = `${file} ${args.slice(0, 3).join(' ')}${args.length > 3 ? ' …' : ''}`;
    const code = (result.cause as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOENT') {
      throw new ExternalCommandError(`${file}: command not found`, 'not-found', stderr, {
        hint: `install ${file} or fix PATH`,
      });
    }
    if (result.timedOut) throw new ExternalCommandError(`${cmd}: timed out`, 'timeout', stderr);
    if (result.signal)
      throw new ExternalCommandError(`${cmd}: killed by ${result.signal}`, 'signal', stderr);
    if (result.exitCode !== undefined) {
      const first = stderr.trim().split('\n')[0] ?? '';
      throw new ExternalCommandError(
        `${cmd}: exit ${result.exitCode}${first ? `: ${first}` : ''}`,
        'exit',
        stderr,
      );
    }
    throw new ExternalCommandError(`${cmd}: ${result.shortMessage}`, 'other', stderr);
  }
  return { stdout, stderr, exitCode };
}

/** Finds an executable the way a shell would: an absolute/relative path, or a PATH lookup. */
export function findExecutable(cmd: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const isExec = (p: string) => {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (cmd.includes('/')) return isExec(cmd) ? path.resolve(cmd) : null;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, cmd);
    if (isExec(candidate)) return candidate;
  }
  return null;
}
