// A pool of simulated agents (bin/sim-agent.js) for the benchmarks that need live sessions:
// temp HOME, two accounts, a private tmux server, `setup` done. Synchronous, like the other
// benchmark modules; `close()` kills the tmux server (and with it every agent) and removes
// the temp dir.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killTmuxServer } from './lib.mjs';

const sleepSync = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

// Pools still open when the process ends (an exception, Ctrl-C) are closed on the way out.
const open = new Set();
process.on('exit', () => {
  for (const pool of open) pool.close();
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => process.exit(130));

/**
 * `projects` × `perProject` sessions named `p<i>-<j>`, projects `p<i>`; `accounts` by
 * priority. `extra` is YAML appended to the config.
 */
export function simPool({
  root,
  name,
  projects = 5,
  perProject = 4,
  accounts = ['primary', 'backup'],
  extra = '',
  triggers = false,
}) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `cf-bench-${name}-`));
  const socket = `cf-bench-${name}-${process.pid}`;
  const bin = path.join(root, 'bin', 'claude-failover.js');
  const env = {
    ...process.env,
    HOME: home,
    NO_COLOR: '1',
    CI: '1',
    TZ: 'UTC',
    // Runs inside a Claude Code session must not leak into the agents or the CLI.
    CLAUDE_FAILOVER_CONFIG: '',
  };
  for (const k of Object.keys(env))
    if (k === 'CLAUDECODE' || k.startsWith('CLAUDE_CODE_')) delete env[k];
  const projectLines = [];
  const sessionLines = [];
  const names = [];
  for (let p = 0; p < projects; p++) {
    const dir = path.join(home, 'src', `p${p}`);
    fs.mkdirSync(dir, { recursive: true });
    projectLines.push(`  - { name: p${p}, path: ${dir} }`);
    sessionLines.push(`  - { name: 'p${p}-{0..${perProject - 1}}', project: p${p} }`);
    for (let s = 0; s < perProject; s++) names.push(`p${p}-${s}`);
  }
  const config = path.join(home, 'config.yaml');
  fs.writeFileSync(
    config,
    [
      `stateDir: ${path.join(home, 'state')}`,
      `sharedProjectsDir: ${path.join(home, 'shared', 'projects')}`,
      'agent:',
      `  command: ${path.join(root, 'bin', 'sim-agent.js')}`,
      "  args: ['--dangerously-skip-permissions']",
      '  readyTimeout: 30s',
      '  stopTimeout: 10s',
      // Only `session start` of the whole pool uses it, never a measured step.
      '  launchStagger: 100ms',
      `tmux: { socket: ${socket} }`,
      'accounts:',
      ...accounts.map(
        (a, i) =>
          `  - { name: ${a}, configDir: ${path.join(home, 'accounts', a)}, priority: ${i + 1} }`,
      ),
      'projects:',
      ...projectLines,
      'sessions:',
      ...sessionLines,
      // The timer-driven figures measure one step at a time; trigger.mjs turns them on.
      `triggers: { enabled: ${triggers} }`,
      extra,
      '',
    ].join('\n'),
  );

  const pool = {
    home,
    config,
    socket,
    names,
    env,
    stateDir: path.join(home, 'state'),
    accountDir: (a) => path.join(home, 'accounts', a),
    projectDir: (p) => path.join(home, 'src', p),
    /** argv for timeOnce/compare: the CLI on this pool's config. */
    argv: (args) => [process.execPath, [bin, '-c', config, ...args], { env }],
    /** Runs the CLI; throws on an unexpected exit code. */
    cli(args, { ok = [0] } = {}) {
      const res = spawnSync(process.execPath, [bin, '-c', config, ...args], {
        env,
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      });
      if (!ok.includes(res.status))
        throw new Error(`claude-failover ${args.join(' ')} exited ${res.status}: ${res.stderr}`);
      return res;
    },
    tmux(args) {
      const res = spawnSync('tmux', ['-u', '-L', socket, ...args], { encoding: 'utf8' });
      if (res.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${res.stderr}`);
      return res.stdout;
    },
    pane(session) {
      try {
        return pool.tmux(['capture-pane', '-p', '-J', '-t', `=${session}:`]);
      } catch {
        return '';
      }
    },
    /** Polls until every pane matches `re`; throws naming the ones that do not. */
    waitPanes(sessions, re, ms = 60_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const missing = sessions.filter((s) => !re.test(pool.pane(s)));
        if (!missing.length) return;
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${re} in ${missing.join(', ')}`);
        sleepSync(100);
      }
    },
    /** The hooks' view of the sessions: every one idle (Stop/SessionStart came). */
    waitIdle(sessions = names, ms = 60_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const busy = sessions.filter((s) => {
          const p = s.slice(0, s.lastIndexOf('-'));
          try {
            const st = JSON.parse(
              fs.readFileSync(path.join(pool.projectDir(p), '.agent-queue', 'status.json'), 'utf8'),
            );
            return st.sessions[s]?.state !== 'idle';
          } catch {
            return true;
          }
        });
        if (!busy.length) return;
        if (Date.now() > deadline) throw new Error(`sessions not idle: ${busy.join(', ')}`);
        sleepSync(100);
      }
    },
    state: () => JSON.parse(fs.readFileSync(path.join(pool.stateDir, 'state.json'), 'utf8')),
    /** Makes an account hit (or clear) its limit: every turn of its agents ends with `text`. */
    setLimit(account, text) {
      const file = path.join(pool.accountDir(account), 'sim', 'limit');
      if (text === null) fs.rmSync(file, { force: true });
      else {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, text);
      }
    },
    close() {
      open.delete(pool);
      killTmuxServer(socket);
      // Killed agents may still be writing for a moment.
      for (let i = 0; i < 5; i++) {
        try {
          fs.rmSync(home, { recursive: true, force: true });
          return;
        } catch {
          sleepSync(200);
        }
      }
    },
  };
  open.add(pool);
  try {
    pool.cli(['setup']);
  } catch (err) {
    pool.close();
    throw err;
  }
  return pool;
}
