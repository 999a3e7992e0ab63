/**
 * Reliability: an unwritable directory (EACCES). The whole pool runs as an unprivileged
 * user (root ignores permission bits), stateDir and then a project's inbox lose their write
 * bit, and the state-writing commands must tell the truth: nothing half-done, one line
 * naming the path and the user, exit 74, no stack trace. With the modes restored, one `tick`
 * leaves everything consistent. Needs root to switch users (skipped otherwise).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseState } from '../../src/lib/core/state.js';
import {
  chownTree,
  runAsUnprivileged,
  runCliAsUnprivileged,
  unprivilegedIds,
  unprivilegedSkipReason,
} from '../helpers/fs-fault.js';
import { simSandbox, waitFor, type SimSandbox } from '../helpers/sim.js';

const skip = unprivilegedSkipReason();
if (skip) console.warn(`io-faults-eacces: skipped: ${skip}`);

type Listing = { name: string; state: string; pid: number | null };

describe.skipIf(skip)('an unwritable directory, as an unprivileged user', () => {
  it('refuses what it cannot record, queues nothing it cannot write, and catches up', async () => {
    const sb: SimSandbox = simSandbox({ sessions: 'ccl-0' });
    chownTree(sb.home);
    const cli = (args: string[], input?: string) =>
      runCliAsUnprivileged(['-c', sb.configFile, ...args], { home: sb.home, input });
    const list = async (): Promise<Listing> => {
      const r = await cli(['session', 'list', '--json']);
      expect(r.exitCode, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { sessions: Listing[] }).sessions[0]!;
    };
    const readState = () => {
      const file = path.join(sb.stateDir, 'state.json');
      return parseState(fs.readFileSync(file, 'utf8'), file);
    };
    const queueRoot = path.join(sb.project, '.agent-queue');
    const inbox = path.join(queueRoot, 'inbox');
    try {
      expect((await cli(['setup'])).exitCode).toBe(0);
      const start = await cli(['session', 'start']);
      expect(start.exitCode, start.stderr).toBe(0);
      const { pid } = await waitFor(async () => {
        const l = await list();
        return l.state === 'idle' && l.pid ? l : null;
      }, 'ccl-0 idle');
      fs.mkdirSync(inbox, { recursive: true });
      chownTree(sb.home);

      const events = path.join(sb.stateDir, 'events.jsonl');
      fs.chmodSync(events, 0o400);
      fs.chmodSync(sb.stateDir, 0o500);
      const stop = await cli(['session', 'stop', 'ccl-0']);
      expect(stop.exitCode, stop.stderr).toBe(74);
      expect(stop.stderr).not.toMatch(/^\s+at /m);
      expect(stop.stderr).toMatch(
        /^error: cannot create directory \S+state\.json\.lock: permission denied \(EACCES\); no session was stopped$/m,
      );
      expect(stop.stderr).toMatch(/^hint: \S+ is not writable by user nobody/m);
      expect((await list()).pid).toBe(pid);
      expect(readState().sessions['ccl-0']!.stopped).toBe(false);

      // The queue is writable: the task is queued; the event is a warning.
      const added = await cli(['task', 'add', 'api', '-', '--id', 'kept'], '# kept\n');
      expect(added.exitCode, added.stderr).toBe(0);
      expect(added.stderr).toMatch(/^warning: could not write the event log .*\(EACCES\)/m);
      expect(fs.readdirSync(inbox)).toEqual(['kept.md']);

      // The inbox is not: nothing is queued, and the command says so.
      fs.chmodSync(inbox, 0o555);
      const refused = await cli(['task', 'add', 'api', '-', '--id', 'refused'], '# refused\n');
      expect(refused.exitCode, refused.stderr).toBe(74);
      expect(refused.stderr).toMatch(
        /^error: cannot open \S+inbox\/refused\.md: permission denied \(EACCES\); nothing was queued$/m,
      );
      expect(fs.readdirSync(inbox)).toEqual(['kept.md']);

      // Nothing can be handed out (no claim, no marker): nothing is, and it says so.
      const past = new Date(Date.now() - 60_000);
      fs.utimesSync(path.join(inbox, 'kept.md'), past, past); // past dispatch.settle
      const dispatch = await cli(['dispatch']);
      expect(dispatch.exitCode, dispatch.stderr).toBe(74);
      expect(dispatch.stderr).toMatch(/^error: cannot \S.* \S+: permission denied \(EACCES\)/m);
      expect(fs.readdirSync(inbox)).toEqual(['kept.md']);
      const done = await cli(['task', 'done', 'kept', '--project', 'api']);
      expect(done.exitCode, done.stderr).toBe(74);
      expect(done.stderr).not.toMatch(/^\s+at /m);
      expect(fs.readdirSync(inbox)).toEqual(['kept.md']);

      const tick = await cli(['tick']);
      expect(tick.exitCode, tick.stderr).toBe(74);
      expect(tick.stderr.match(/EACCES/g)?.length, tick.stderr).toBe(1);
      expect((await list()).pid).toBe(pid);

      fs.chmodSync(inbox, 0o755);
      fs.chmodSync(sb.stateDir, 0o700);
      fs.chmodSync(events, 0o600);

      // The marker can be made (inbox/), the session's `working` status cannot (status.json
      // beside it): the hand-out is undone before any prompt is typed.
      const statusBefore = fs.readFileSync(path.join(queueRoot, 'status.json'), 'utf8');
      fs.chmodSync(queueRoot, 0o555);
      const undone = await cli(['dispatch']);
      expect(undone.exitCode, undone.stderr).toBe(74);
      expect(undone.stderr).toMatch(/^error: cannot \S.*status\.json\S*: permission denied/m);
      expect(fs.readdirSync(inbox)).toEqual(['kept.md']);
      expect(fs.readFileSync(path.join(queueRoot, 'status.json'), 'utf8')).toBe(statusBefore);
      fs.chmodSync(queueRoot, 0o755);

      const after = await cli(['tick']);
      expect(after.stderr).not.toMatch(/EACCES|^\s+at /m);
      expect(readState().sessions['ccl-0']).toMatchObject({ stopped: false, account: 'primary' });
      expect((await list()).pid).toBe(pid);
      const stopped = await cli(['session', 'stop', 'ccl-0']);
      expect(stopped.exitCode, stopped.stderr).toBe(0);
      expect(readState().sessions['ccl-0']!.stopped).toBe(true);
    } finally {
      fs.chmodSync(sb.stateDir, 0o700);
      if (fs.existsSync(inbox)) fs.chmodSync(inbox, 0o755);
      if (fs.existsSync(queueRoot)) fs.chmodSync(queueRoot, 0o755);
      await runAsUnprivileged('tmux', ['-L', sb.socket, 'kill-server'], {
        cwd: sb.home,
        env: { PATH: process.env.PATH },
      });
      fs.rmSync(path.join('/tmp', `tmux-${unprivilegedIds().uid}`, sb.socket), { force: true });
    }
  });
});
