/**
 * The command sink: an argv array (never a shell) that gets the event JSON on stdin. The
 * arguments may hold secrets, so errors name only the program.
 */
import path from 'node:path';
import { ExternalCommandError } from '../core/errors.js';
import { run } from '../core/exec.js';
import { firstLine, scrub, SINK_TIMEOUT_MS, type Payload, type SinkResult } from './sink.js';

export async function sendCommand(
  argv: readonly string[],
  payload: Payload,
  opts: { timeoutMs?: number; cwd?: string } = {},
): Promise<SinkResult> {
  const started = Date.now();
  const [file, ...args] = argv;
  const name = path.basename(file ?? '?');
  const fail = (why: string): SinkResult => ({
    sink: 'command',
    ok: false,
    error: scrub(`${name}: ${why}`, args),
    durationMs: Date.now() - started,
  });
  if (!file) return fail('empty argv');
  const timeout = opts.timeoutMs ?? SINK_TIMEOUT_MS;
  try {
    const res = await run(file, args, {
      cwd: opts.cwd,
      timeout,
      input: `${JSON.stringify(payload)}\n`,
      env: { CLAUDE_FAILOVER_EVENT: payload.event },
      reject: false,
      maxBuffer: 1024 * 1024,
    });
    if (res.exitCode === 0) return { sink: 'command', ok: true, durationMs: Date.now() - started };
    const why = firstLine(res.stderr) || firstLine(res.stdout);
    return fail(`exit ${res.exitCode}${why ? `: ${why}` : ''}`);
  } catch (err) {
    if (err instanceof ExternalCommandError) {
      if (err.kind === 'not-found') return fail('command not found');
      if (err.kind === 'timeout') return fail(`timed out after ${timeout} ms`);
      if (err.kind === 'signal') return fail(err.message.replace(/^.*: (killed by)/, '$1'));
    }
    return fail(err instanceof Error ? err.message : String(err));
  }
}
