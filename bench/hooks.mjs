// `hook run Stop` and `hook statusline`: what Claude Code runs on every turn of every agent.
// Each gets Claude Code's JSON on stdin and the env a managed session is launched with, and
// does its real work (a signal line, the project's status.json under its lock, the account's
// usage file). Target: ≤ 2× `node -e 0`.
//
// Run alone with `node bench/hooks.mjs` (after `npm run build`), or through `npm run bench`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compare } from './lib.mjs';

const SESSION_ID = '5f0c7a52-1111-4b5e-9c1e-0123456789ab';

/** Stop's stdin as Claude Code 2.1.x sends it (docs/hooks: common and Stop fields). */
function stopInput(project) {
  return JSON.stringify({
    session_id: SESSION_ID,
    transcript_path: path.join(
      os.homedir(),
      '.claude',
      'projects',
      project.replace(/[^a-zA-Z0-9]/g, '-'),
      `${SESSION_ID}.jsonl`,
    ),
    cwd: project,
    permission_mode: 'bypassPermissions',
    hook_event_name: 'Stop',
    stop_hook_active: false,
    effort: 'high',
    prompt_id: 'b8a1c3de-2f4a-4c8e-9d1b-7e6f5a4b3c2d',
    last_assistant_message: `Done: the tests pass. ${'Summary of the change. '.repeat(30)}`,
    background_tasks: [],
    session_crons: [],
  });
}

/** The statusline's stdin (docs/statusline), rate_limits included. */
function statuslineInput(project) {
  return JSON.stringify({
    hook_event_name: 'Status',
    session_id: SESSION_ID,
    transcript_path: `/tmp/${SESSION_ID}.jsonl`,
    cwd: project,
    model: { id: 'claude-opus-4-6', display_name: 'Opus 4.6' },
    workspace: { current_dir: project, project_dir: project },
    version: '2.1.328',
    output_style: { name: 'default' },
    cost: {
      total_cost_usd: 1.2345,
      total_duration_ms: 456789,
      total_api_duration_ms: 234567,
      total_lines_added: 156,
      total_lines_removed: 23,
    },
    context_window: {
      total_input_tokens: 15234,
      total_output_tokens: 4521,
      context_window_size: 200000,
      used_percentage: 8,
      remaining_percentage: 92,
    },
    rate_limits: {
      five_hour: { used_percentage: 42.4, resets_at: Math.floor(Date.now() / 1000) + 3600 },
      seven_day: { used_percentage: 13, resets_at: Math.floor(Date.now() / 1000) + 86400 },
    },
    session_name: 'bench-1',
  });
}

/** Measures both figures and returns their rows for bench/run.mjs. */
export function benchHooks({ root, runs }) {
  const bin = path.join(root, 'bin', 'claude-failover.js');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cf-bench-hooks-'));
  try {
    const stateDir = path.join(home, 'state');
    const project = path.join(home, 'project');
    fs.mkdirSync(project, { recursive: true });
    // A neighbour's entry, which every hook must keep.
    fs.mkdirSync(path.join(project, '.agent-queue'));
    fs.writeFileSync(
      path.join(project, '.agent-queue', 'status.json'),
      JSON.stringify({
        sessions: {
          'bench-2': { state: 'working', task: 'task-0001.md', claudeSessionId: null },
        },
      }),
    );
    const env = {
      ...process.env,
      HOME: home,
      NO_COLOR: '1',
      CI: '1',
      CLAUDE_FAILOVER_SESSION: 'bench-1',
      CLAUDE_FAILOVER_ACCOUNT: 'primary',
      CLAUDE_FAILOVER_STATE_DIR: stateDir,
      CLAUDE_FAILOVER_PROJECT: project,
      CLAUDE_FAILOVER_CONFIG: path.join(home, 'config.yaml'),
    };
    const withInput = (input) => ({ env, input, stdio: ['pipe', 'ignore', 'pipe'] });
    const baseline = [process.execPath, ['-e', '0'], { env }];
    const stop = [process.execPath, [bin, 'hook', 'run', 'Stop'], withInput(stopInput(project))];
    const sl = [process.execPath, [bin, 'hook', 'statusline'], withInput(statuslineInput(project))];

    // Check that both do their work before timing them.
    spawnSync(...stop);
    const status = JSON.parse(
      fs.readFileSync(path.join(project, '.agent-queue', 'status.json'), 'utf8'),
    );
    if (status.sessions['bench-1']?.state !== 'idle' || !status.sessions['bench-2'])
      throw new Error(`hook run Stop did not update status.json: ${JSON.stringify(status)}`);
    const out = spawnSync(sl[0], sl[1], { ...sl[2], stdio: 'pipe', encoding: 'utf8' });
    const usage = JSON.parse(fs.readFileSync(path.join(stateDir, 'usage', 'primary.json'), 'utf8'));
    if (usage.fiveHour?.usedPercentage !== 42.4 || !out.stdout.includes('5h 42%'))
      throw new Error(`hook statusline did not record the usage: ${out.stdout} ${out.stderr}`);

    const rows = [];
    for (const [what, subject] of [
      ['`hook run Stop` (status.json under its lock, signal line)', stop],
      ['`hook statusline` (rate_limits to the usage file, one line out)', sl],
    ]) {
      const r = compare(subject, baseline, runs);
      rows.push({
        figure: what,
        value: `${r.subject.toFixed(0)} ms`,
        baseline: `\`node -e 0\` ${r.baseline.toFixed(0)} ms`,
        result: `${r.ratio.toFixed(2)}×`,
        target: '≤ 2×',
        ok: r.ratio <= 2,
      });
    }
    return rows;
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  for (const row of benchHooks({ root, runs: Number(process.env.BENCH_RUNS ?? 7) }))
    console.log(row);
}
