// Helpers for the benchmarks: run a command N times, alternating with its baseline, and
// report medians, so machine noise hits both sides alike.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function timeOnce(file, args, opts = {}) {
  const start = process.hrtime.bigint();
  const res = spawnSync(file, args, { stdio: ['ignore', 'ignore', 'pipe'], ...opts });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (res.status !== 0) {
    throw new Error(
      `${file} ${args.join(' ')} exited ${res.status}: ${String(res.stderr).slice(0, 500)}`,
    );
  }
  return ms;
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Alternates `subject` and `baseline` for `runs` rounds (after one warm-up each). */
export function compare(subject, baseline, runs) {
  timeOnce(...subject);
  timeOnce(...baseline);
  const a = [];
  const b = [];
  for (let i = 0; i < runs; i++) {
    a.push(timeOnce(...subject));
    b.push(timeOnce(...baseline));
  }
  return { subject: median(a), baseline: median(b), ratio: median(a) / median(b) };
}

/** Kills a private tmux server (`tmux -L socket`) and removes its socket file, which tmux leaves. */
export function killTmuxServer(socket) {
  spawnSync('tmux', ['-L', socket, 'kill-server'], { stdio: 'ignore' });
  const dir = path.join(process.env.TMUX_TMPDIR || os.tmpdir(), `tmux-${process.getuid?.() ?? 0}`);
  fs.rmSync(path.join(dir, socket), { force: true });
}
