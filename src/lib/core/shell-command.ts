/**
 * Runs a user's own shell command line with text on stdin and returns its stdout: what
 * Claude Code does with hook and statusline commands (they are shell command lines by
 * design). Never used for anything claude-failover builds itself: those are argv arrays.
 */
import { spawn } from 'node:child_process';

export function runShellCommand(
  command: string,
  stdin: string,
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number },
): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    let stdout = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.on('error', () => resolve(''));
    child.on('close', () => {
      clearTimeout(timer);
      resolve(stdout);
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}
