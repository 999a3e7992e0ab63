// `dispatch --dry-run` over 50 projects × 200 inbox files (10,000 tasks, one in ten with front
// matter), with 20 sessions (the pool size this tool is built for) idle on the first 20
// projects: tmux panes running `sleep`, status.json saying idle. Every project is scanned and
// ordered and every idle session is planned a task. Target: ≤ 500 ms for the whole command,
// node start-up included. Measured warm (the scan's front-matter cache in place, the steady
// state under cron) and cold (the cache removed before each run: every file's head is read).
//
// Run alone with `node bench/dispatch.mjs` (after `npm run build`), or through `npm run bench`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { killTmuxServer, median, timeOnce } from './lib.mjs';

const PROJECTS = 50;
const TASKS = 200;
const SESSIONS = 20;

function tmux(socket, args) {
  const res = spawnSync('tmux', ['-u', '-L', socket, ...args], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${res.stderr}`);
  return res.stdout;
}

function build(home, socket) {
  const old = new Date(Date.now() - 3_600_000);
  const projects = [];
  const sessions = [];
  for (let p = 0; p < PROJECTS; p++) {
    const project = path.join(home, 'src', `p${p}`);
    const inbox = path.join(project, '.agent-queue', 'inbox');
    fs.mkdirSync(inbox, { recursive: true });
    for (let t = 0; t < TASKS; t++) {
      const front = t % 10 === 0 ? `---\npriority: ${t % 7}\nowner: bench\n---\n` : '';
      const file = path.join(inbox, `task-${String(t).padStart(4, '0')}.md`);
      fs.writeFileSync(
        file,
        `${front}# Task ${t} of project ${p}\n\n${'Do the thing. '.repeat(20)}\n`,
      );
      fs.utimesSync(file, old, old);
    }
    projects.push(`  - { name: p${p}, path: ${project} }`);
    if (p < SESSIONS) {
      const name = `s${p}`;
      sessions.push(`  - { name: ${name}, project: p${p} }`);
      fs.writeFileSync(
        path.join(project, '.agent-queue', 'status.json'),
        JSON.stringify({
          sessions: {
            [name]: { state: 'idle', task: null, claudeSessionId: null, updatedAt: null },
          },
        }),
      );
      tmux(socket, ['new-session', '-d', '-s', name, '-c', project, '--', 'sleep', '3600']);
    }
  }
  const config = path.join(home, 'config.yaml');
  fs.writeFileSync(
    config,
    [
      `stateDir: ${path.join(home, 'state')}`,
      `sharedProjectsDir: ${path.join(home, 'shared')}`,
      `tmux: { socket: ${socket} }`,
      'accounts:',
      `  - { name: primary, configDir: ${path.join(home, 'accounts', 'primary')}, priority: 1 }`,
      'projects:',
      ...projects,
      'sessions:',
      ...sessions,
      '',
    ].join('\n'),
  );
  return config;
}

/** Measures the figure and returns the rows for bench/run.mjs (warm, then cold). */
export function benchDispatch({ root, runs }) {
  const bin = path.join(root, 'bin', 'claude-failover.js');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cf-bench-dispatch-'));
  const socket = `cf-bench-d-${process.pid}`;
  const env = { ...process.env, HOME: home, NO_COLOR: '1', CI: '1' };
  const cache = path.join(home, 'state', 'cache');
  try {
    const config = build(home, socket);
    const args = [bin, '-c', config, 'dispatch', '--dry-run'];
    // Check the run does the whole job before timing it (the JSON lists all 10,000 tasks).
    const res = spawnSync(process.execPath, [...args, '--json'], {
      env,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    const out = JSON.parse(res.stdout);
    const waiting = out.skipped.filter((s) => s.task !== null).length;
    if (out.assignments.length !== SESSIONS || waiting + SESSIONS !== PROJECTS * TASKS)
      throw new Error(`unexpected plan: ${out.assignments.length} assignments, ${waiting} waiting`);
    // The highest priority first: 6 (t % 7) is first reached at task-0020.
    if (out.assignments[0].task !== 'task-0020')
      throw new Error(`unexpected order: ${out.assignments[0].task}`);
    const warm = [];
    const cold = [];
    const baseline = [];
    for (let i = 0; i < runs; i++) {
      warm.push(timeOnce(process.execPath, args, { env }));
      fs.rmSync(cache, { recursive: true, force: true });
      cold.push(timeOnce(process.execPath, args, { env }));
      baseline.push(timeOnce(process.execPath, ['-e', '0'], { env }));
    }
    const base = `\`node -e 0\` ${median(baseline).toFixed(0)} ms`;
    const figure = `\`dispatch --dry-run\`, ${PROJECTS} projects × ${TASKS} tasks, ${SESSIONS} idle sessions`;
    return [
      {
        figure: `${figure} (warm)`,
        value: `${median(warm).toFixed(0)} ms`,
        baseline: base,
        result: `${median(warm).toFixed(0)} ms`,
        target: '≤ 500 ms',
        ok: median(warm) <= 500,
      },
      {
        figure: `${figure} (cold: no front-matter cache)`,
        value: `${median(cold).toFixed(0)} ms`,
        baseline: base,
        result: `${median(cold).toFixed(0)} ms`,
        target: '(no target)',
        ok: true,
      },
    ];
  } finally {
    killTmuxServer(socket);
    fs.rmSync(home, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  for (const row of benchDispatch({ root, runs: Number(process.env.BENCH_RUNS ?? 7) }))
    console.log(row);
}
