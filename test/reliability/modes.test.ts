/**
 * Reliability: the state stays private. After a realistic run (setup, session start, a task
 * dispatched and done, tick, checkpoint, a swap, notifications that fail into the outbox),
 * every file under stateDir (state.json and its .bak, events.jsonl, checkpoints, the outbox,
 * signals, usage, ...) is mode 0600 and every directory (stateDir, checkpoints/, ...) 0700,
 * whatever the umask of cron's shell: 022 and the group-friendly 002.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { deliverPrompt } from '../helpers/type-prompt.js';
import { BIN } from '../helpers/env.js';
import { startHttpSink } from '../helpers/http-sink.js';
import { simSandbox, waitFor, type SimSandbox } from '../helpers/sim.js';

/** Runs the built CLI as runCli does, but from a shell that sets `umask` first. */
async function cliWithUmask(sb: SimSandbox, umask: string, args: string[]) {
  const res = await execa(
    '/bin/sh',
    ['-c', `umask ${umask}; exec "$0" "$@"`, process.execPath, BIN, '-c', sb.configFile, ...args],
    {
      cwd: sb.home,
      reject: false,
      stdin: 'ignore',
      extendEnv: false,
      env: {
        PATH: process.env.PATH,
        HOME: sb.home,
        XDG_CONFIG_HOME: path.join(sb.home, '.config'),
        XDG_STATE_HOME: path.join(sb.home, '.local', 'state'),
        NO_COLOR: '1',
        TZ: 'UTC',
        CI: '1',
      },
      timeout: 60_000,
    },
  );
  return { exitCode: res.exitCode ?? -1, stdout: String(res.stdout), stderr: String(res.stderr) };
}

/** Every entry under `dir` (itself included) with its permission bits. */
function modes(dir: string): Array<[string, 'file' | 'dir', number]> {
  const out: Array<[string, 'file' | 'dir', number]> = [
    [dir, 'dir', fs.statSync(dir).mode & 0o777],
  ];
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const p = path.join(e.parentPath, e.name);
    const st = fs.lstatSync(p);
    if (st.isDirectory()) out.push([p, 'dir', st.mode & 0o777]);
    else if (st.isFile()) out.push([p, 'file', st.mode & 0o777]);
  }
  return out;
}

describe.concurrent('file modes under stateDir', () => {
  it.each(['022', '002'])('with umask %s: files 0600, directories 0700', async (umask) => {
    const hook = await startHttpSink(() => ({ status: 500, body: 'down' }));
    const sb = simSandbox({
      sessions: 'ccl-{0..1}',
      extra: `notify: { events: ['*'], webhook: { url: '${hook.url}/hook' } }\ndispatch: { settle: 0s }`,
    });
    const cli = async (args: string[], ok = [0]) => {
      const r = await cliWithUmask(sb, umask, args);
      expect(ok, `${args.join(' ')}: ${r.stderr}`).toContain(r.exitCode);
      return r;
    };
    // This shell's umask reaches the tmux server, the agents and their hooks too.
    await cli(['setup']);
    // The statusline reports usage, so usage/ is written too.
    const resets = Math.floor(Date.now() / 1000) + 3600;
    fs.mkdirSync(path.join(sb.accountDir('primary'), 'sim'), { recursive: true });
    fs.writeFileSync(
      path.join(sb.accountDir('primary'), 'sim', 'usage.json'),
      JSON.stringify({
        five_hour: { used_percentage: 42, resets_at: resets },
        seven_day: { used_percentage: 17, resets_at: resets + 86_400 },
      }),
    );
    await cli(['session', 'start']);
    for (const n of ['ccl-0', 'ccl-1']) {
      await sb.waitForPane(n, /^❯/m);
      expect(await deliverPrompt(sb.tmux, n, `/sim say hello ${n}`)).toBe(true);
      await sb.waitForPane(n, new RegExp(`● hello ${n}`));
    }
    fs.mkdirSync(path.join(sb.project, '.agent-queue', 'inbox'), { recursive: true });
    fs.writeFileSync(path.join(sb.project, '.agent-queue', 'inbox', 't2.md'), 'sim-work: 100ms\n');
    await cli(['tick']);
    await waitFor(
      () => fs.existsSync(path.join(sb.project, '.agent-queue', 'done', 't2.md')),
      'the task to be done',
    );
    await cli(['checkpoint']);
    await cli(['swap', '--reason', 'modes']);
    await cli(['tick']);
    await cli(['status', '--json']);
    // And one tick exactly as the crontab line runs it: cron's shell appends to cron.log.
    const { line } = JSON.parse((await cli(['cron', 'print', '--json'])).stdout) as {
      line: string;
    };
    const command = line.replace(/^(\S+\s+){5}/, '').replace(/\\%/g, '%');
    const cron = await execa('/bin/sh', ['-c', `umask ${umask}; ${command}`], {
      extendEnv: false,
      env: { HOME: sb.home, LOGNAME: 'nobody', SHELL: '/bin/sh', PATH: '/usr/bin:/bin' },
      cwd: '/',
      reject: false,
    });
    expect(cron.exitCode, fs.readFileSync(path.join(sb.stateDir, 'cron.log'), 'utf8')).toBe(0);

    // The umask really was in force, down to the agents: their own transcripts follow it.
    const transcripts = fs
      .readdirSync(path.join(sb.home, 'shared', 'projects'), {
        recursive: true,
        withFileTypes: true,
      })
      .filter((e) => e.name.endsWith('.jsonl'));
    expect(transcripts.length).toBeGreaterThan(0);
    for (const t of transcripts)
      expect(fs.statSync(path.join(t.parentPath, t.name)).mode & 0o777).toBe(
        0o666 & ~parseInt(umask, 8),
      );

    // What a realistic run leaves, and so what is checked.
    const rel = (p: string) => path.relative(sb.stateDir, p);
    const entries = modes(sb.stateDir);
    const names = entries.map(([p]) => rel(p));
    for (const expected of [
      'state.json',
      'state.json.bak',
      'events.jsonl',
      'outbox.jsonl',
      'cron.log',
      'checkpoints',
      'checkpoints/ccl-0/latest.json',
      'signals',
      'usage/primary.json',
    ])
      expect(names, expected).toContain(expected);
    expect(hook.requests.length).toBeGreaterThan(0);

    const wrong = entries
      .filter(([, kind, mode]) => mode !== (kind === 'dir' ? 0o700 : 0o600))
      .map(([p, kind, mode]) => `${kind} ${rel(p) || '.'} ${mode.toString(8)}`);
    expect(wrong).toEqual([]);
  });
});
