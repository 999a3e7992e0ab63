// `checkpoint` cost against transcript size: one session (a tmux pane running `sleep`) whose
// transcript is 1 GB, against the same session with a 1 MB transcript. The reader works from
// the end of the file, so the ratio should stay near 1 (target ≤ 1.5).
//
// Run alone with `node bench/checkpoint.mjs` (after `npm run build`), or through `npm run bench`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compare, killTmuxServer } from './lib.mjs';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const encodeProjectDir = (cwd) => path.resolve(cwd).replace(/[^a-zA-Z0-9]/g, '-');

/** One exchange shaped like Claude Code 2.1.x lines: prompt, text, tool call, tool result. */
function block(sessionId, cwd, i, ts) {
  const env = {
    parentUuid: null,
    isSidechain: false,
    userType: 'external',
    cwd,
    sessionId,
    version: '2.1.328',
    gitBranch: 'main',
  };
  const lines = [
    {
      ...env,
      type: 'user',
      message: { role: 'user', content: `step ${i}: keep going` },
      timestamp: ts,
    },
    {
      ...env,
      type: 'assistant',
      requestId: `req_${i}`,
      message: {
        model: 'claude-opus-4-6',
        role: 'assistant',
        content: [
          {
            type: 'text',
            text: `Working on step ${i}. ${'Reasoning about the code. '.repeat(20)}`,
          },
        ],
        usage: { input_tokens: 3, output_tokens: 120, cache_read_input_tokens: 15000 },
      },
      timestamp: ts,
    },
    {
      ...env,
      type: 'assistant',
      requestId: `req_${i}`,
      message: {
        model: 'claude-opus-4-6',
        role: 'assistant',
        content: [
          {
            type: 'tool_use',
            id: `toolu_${i}`,
            name: 'Bash',
            input: { command: `npm test -- step-${i}` },
          },
        ],
      },
      timestamp: ts,
    },
    {
      ...env,
      type: 'user',
      message: {
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: `toolu_${i}`, content: 'ok\n'.repeat(1500) }],
      },
      toolUseResult: { stdout: 'ok\n'.repeat(1500), stderr: '', interrupted: false },
      timestamp: ts,
    },
    { type: 'system', subtype: 'turn_duration', durationMs: 4200, timestamp: ts, sessionId },
  ];
  return lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
}

/**
 * Writes a transcript of about `size` bytes: a repeated block (written in large buffers, not
 * line by line), then a final exchange that the checkpoint should report.
 */
function writeTranscript(file, size, sessionId, cwd) {
  const unit = block(sessionId, cwd, 0, '2026-11-20T10:00:00.000Z');
  const fill = Buffer.from(unit.repeat(Math.max(1, Math.floor((4 * MiB) / unit.length))));
  const tail = Buffer.from(block(sessionId, cwd, 'final', '2026-11-24T10:00:00.000Z'));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const fd = fs.openSync(file, 'w');
  try {
    // `fill` is whole blocks; so is every prefix of it cut at a multiple of the block length.
    // Rounded up, so the file is at least `size`.
    let left = Math.max(0, size - tail.length);
    while (left >= fill.length) {
      fs.writeSync(fd, fill);
      left -= fill.length;
    }
    fs.writeSync(fd, fill, 0, Math.ceil(left / unit.length) * unit.length);
    fs.writeSync(fd, tail);
  } finally {
    fs.closeSync(fd);
  }
  return fs.statSync(file).size;
}

function tmux(socket, args) {
  const res = spawnSync('tmux', ['-u', '-L', socket, ...args], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${res.stderr}`);
  return res.stdout;
}

/** Builds one sandbox (config, project, hooks' status.json, transcript, pane). */
function sandbox(home, name, socket, size, sessionId) {
  const dir = path.join(home, name);
  const project = path.join(dir, 'project');
  fs.mkdirSync(project, { recursive: true });
  const shared = path.join(dir, 'shared', 'projects');
  const transcript = path.join(shared, encodeProjectDir(project), `${sessionId}.jsonl`);
  const bytes = writeTranscript(transcript, size, sessionId, project);
  fs.mkdirSync(path.join(project, '.agent-queue'), { recursive: true });
  fs.writeFileSync(
    path.join(project, '.agent-queue', 'status.json'),
    JSON.stringify({
      sessions: {
        [name]: {
          state: 'working',
          task: null,
          claudeSessionId: sessionId,
          transcriptPath: transcript,
          updatedAt: null,
        },
      },
    }),
  );
  const config = path.join(dir, 'config.yaml');
  fs.writeFileSync(
    config,
    [
      `stateDir: ${path.join(dir, 'state')}`,
      `sharedProjectsDir: ${shared}`,
      `tmux: { socket: ${socket} }`,
      'accounts:',
      `  - { name: primary, configDir: ${path.join(dir, 'accounts', 'primary')}, priority: 1 }`,
      'projects:',
      `  - { name: p, path: ${project} }`,
      'sessions:',
      `  - { name: ${name}, project: p }`,
      '',
    ].join('\n'),
  );
  tmux(socket, ['new-session', '-d', '-s', name, '-c', project, '--', 'sleep', '3600']);
  return { config, bytes, transcript };
}

const fmtSize = (b) => (b >= GiB ? `${(b / GiB).toFixed(2)} GB` : `${(b / MiB).toFixed(1)} MB`);

/** Measures the figure and returns one row for bench/run.mjs. */
export function benchCheckpoint({ root, runs }) {
  const bin = path.join(root, 'bin', 'claude-failover.js');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cf-bench-cp-'));
  const socket = `cf-bench-${process.pid}`;
  // Room for the large file and some margin; otherwise a smaller "large" file, said so.
  const st = fs.statfsSync(home);
  const free = Number(st.bavail) * Number(st.bsize);
  let large = 1 * GiB;
  let note = '';
  if (free < large + 512 * MiB) {
    large = Math.max(64 * MiB, Math.floor((free - 512 * MiB) / MiB) * MiB);
    note = ` (only ${fmtSize(free)} free in ${os.tmpdir()}: the large file is ${fmtSize(large)}, not 1 GB)`;
  }
  const env = { ...process.env, HOME: home, NO_COLOR: '1', CI: '1' };
  try {
    const small = sandbox(
      home,
      'bench-small',
      socket,
      1 * MiB,
      '11111111-2222-4333-8444-555555555555',
    );
    const big = sandbox(home, 'bench-large', socket, large, '66666666-7777-4888-8999-aaaaaaaaaaaa');
    const run = (s) => [process.execPath, [bin, '-c', s.config, 'checkpoint', '--json'], { env }];
    // Check that both really report the final tool call before timing anything.
    for (const s of [small, big]) {
      const res = spawnSync(...run(s).slice(0, 2), { env, encoding: 'utf8' });
      const out = JSON.parse(res.stdout);
      const file = out.sessions[0].written;
      const cp = file && JSON.parse(fs.readFileSync(file, 'utf8'));
      if (!cp || cp.lastToolCall?.input !== 'npm test -- step-final')
        throw new Error(`checkpoint did not find the last tool call: ${res.stdout} ${res.stderr}`);
    }
    const r = compare(run(big), run(small), runs);
    return {
      figure: `\`checkpoint\` of one session, ${fmtSize(big.bytes)} transcript vs ${fmtSize(small.bytes)}${note}`,
      value: `${r.subject.toFixed(0)} ms`,
      baseline: `${fmtSize(small.bytes)} transcript ${r.baseline.toFixed(0)} ms`,
      result: `${r.ratio.toFixed(2)}×`,
      target: '≤ 1.5×',
      ok: r.ratio <= 1.5,
    };
  } finally {
    killTmuxServer(socket);
    fs.rmSync(home, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const row = benchCheckpoint({ root, runs: Number(process.env.BENCH_RUNS ?? 7) });
  console.log(row);
}
