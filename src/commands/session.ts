import { createContext, type GlobalOptions } from '../lib/core/context.js';
import { textTable } from '../lib/core/table.js';
import type { Output } from '../lib/core/output.js';
import { listSessions, startSessions, stopSessions } from '../lib/agents/session-control.js';

export type SessionVerb = 'start' | 'stop' | 'restart' | 'list';

export async function session(
  verb: SessionVerb,
  names: string[],
  globals: GlobalOptions,
  out: Output,
): Promise<number> {
  const ctx = await createContext(globals, out);
  if (verb === 'list') {
    const rows = await listSessions(ctx, names);
    if (globals.json) out.printJson({ sessions: rows });
    else {
      const t = await textTable(out, [
        'session',
        'account',
        'state',
        'pid',
        'cwd',
        'claude session',
      ]);
      for (const r of rows)
        t.push([
          r.name,
          r.account ?? '-',
          r.state,
          r.pid ?? '-',
          r.cwd ?? '-',
          r.claudeSessionId ?? '-',
        ]);
      out.print(t.toString());
    }
    return 0;
  }
  const spinner = await out.spinner(`${verb}ing sessions`);
  try {
    const stopped =
      verb === 'start'
        ? []
        : await stopSessions(ctx, names, {
            operator: verb === 'stop',
            onProgress: (m) => spinner.update(m),
          });
    const started =
      verb === 'stop' ? [] : await startSessions(ctx, names, (m) => spinner.update(m));
    spinner.stop();
    if (globals.json) out.printJson({ stopped, started });
    else {
      for (const s of stopped)
        out.print(
          `${s.session}: ${s.action === 'absent' ? 'not running' : `stopped (${s.action})`}`,
        );
      for (const s of started) {
        const how =
          s.action === 'running'
            ? 'already running'
            : `started on ${s.account}${s.resumeId ? ` with --resume ${s.resumeId}` : ''}` +
              (s.screen && s.screen !== 'ready' ? ` but not ready: ${s.screen}` : '');
        out.print(`${s.session}: ${how}`);
      }
    }
    // An agent that died at once or waits at a login screen is a failed start.
    return started.some((s) => s.screen === 'dead' || s.screen === 'login') ? 1 : 0;
  } catch (err) {
    spinner.fail();
    throw err;
  }
}
