// 100 state-mutating commands at once: `session stop <name>` for 100 different sessions,
// started together. Each is a whole CLI run that takes the state lock and does a
// read-modify-write of state.json (marking its session stopped). Reported: the wall time
// from the first start to the last exit, against 100 concurrent `node -e 0`; met when every
// command exits 0 and no update is lost (all 100 sessions marked stopped).
//
// Run alone with `node bench/concurrency.mjs` (after `npm run build`), or through
// `npm run bench`.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median } from './lib.mjs';

const N = 100;

/** Starts every argv at once; resolves with the wall time and the exit codes. */
function together(argvs, env) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const codes = [];
    const errors = [];
    const ok = [];
    let left = argvs.length;
    for (const [file, args, name] of argvs) {
      const child = spawn(file, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => {
        codes.push(code);
        if (code === 0) ok.push(name);
        else errors.push(`exit ${code}: ${stderr.trim().split('\n')[0]}`);
        if (--left === 0)
          resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, codes, errors, ok });
      });
    }
  });
}

/** Measures the figure and returns one row for bench/run.mjs. */
export async function benchConcurrency({ root, runs }) {
  const bin = path.join(root, 'bin', 'claude-failover.js');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cf-bench-conc-'));
  const stateDir = path.join(home, 'state');
  const env = { ...process.env, HOME: home, NO_COLOR: '1', CI: '1' };
  try {
    const project = path.join(home, 'src', 'api');
    fs.mkdirSync(project, { recursive: true });
    const config = path.join(home, 'config.yaml');
    fs.writeFileSync(
      config,
      [
        `stateDir: ${stateDir}`,
        `sharedProjectsDir: ${path.join(home, 'shared')}`,
        // A private socket with no server: no agent runs, so each stop is about the state.
        `tmux: { socket: cf-bench-conc-${process.pid} }`,
        'accounts:',
        `  - { name: primary, configDir: ${path.join(home, 'accounts', 'primary')}, priority: 1 }`,
        'projects:',
        `  - { name: api, path: ${project} }`,
        'sessions:',
        `  - { name: 's{0..${N - 1}}', project: api }`,
        '',
      ].join('\n'),
    );
    const commands = Array.from({ length: N }, (_, i) => [
      process.execPath,
      [bin, '-c', config, 'session', 'stop', `s${i}`],
      `s${i}`,
    ]);
    const nodes = Array.from({ length: N }, () => [process.execPath, ['-e', '0']]);
    const wall = [];
    const base = [];
    let lost = 0;
    let failed = 0;
    const errors = new Set();
    for (let i = 0; i < runs; i++) {
      fs.rmSync(stateDir, { recursive: true, force: true });
      const r = await together(commands, env);
      wall.push(r.ms);
      failed += r.codes.filter((c) => c !== 0).length;
      for (const e of r.errors) errors.add(e);
      // Lost: a command that said it succeeded but whose change is not in the file.
      const st = JSON.parse(fs.readFileSync(path.join(stateDir, 'state.json'), 'utf8'));
      lost += r.ok.filter((name) => !st.sessions[name]?.stopped).length;
      base.push((await together(nodes, env)).ms);
    }
    const w = median(wall);
    const b = median(base);
    return {
      figure: `${N} concurrent state-mutating commands (\`session stop <one>\` each: state.json read-modify-write under its lock), total wall time`,
      value: `${w.toFixed(0)} ms`,
      baseline: `${N} concurrent \`node -e 0\` ${b.toFixed(0)} ms`,
      result: `${(w / b).toFixed(2)}×, ${lost} lost updates, ${failed} failed${errors.size ? ` (${[...errors].join('; ')})` : ''}`,
      target: '0 lost updates',
      ok: lost === 0 && failed === 0,
    };
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  console.log(await benchConcurrency({ root, runs: Number(process.env.BENCH_RUNS ?? 5) }));
}
