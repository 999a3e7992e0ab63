/**
 * Reliability of the state file and its locks, with real processes killed by SIGKILL:
 *
 * - a writer killed at random points, 100 times: state.json always parses and `doctor` says
 *   the state is healthy;
 * - a lock left by a killed process (the state lock, the swap lock, the tick lock) is taken
 *   over within `lock.staleAfter` plus 1 s;
 * - a corrupt state.json makes every command exit 2 naming the file, and is never touched;
 *   `doctor --repair` restores the `.bak` and keeps the corrupt copy.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/lib/core/config-parse.js';
import { contextFromConfig } from '../../src/lib/core/context.js';
import { runDoctor } from '../../src/lib/ops/doctor.js';
import { tryLock } from '../../src/lib/core/lock.js';
import { Output } from '../../src/lib/core/output.js';
import { parseState } from '../../src/lib/core/state.js';
import {
  runCli,
  sandboxConfig,
  startWorker,
  tempDir,
  waitForOutput,
  worker,
  writeConfig,
} from '../helpers/env.js';

type Json = Record<string, unknown>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A sandbox config whose agent exists (node), so that doctor has nothing else to fail on. */
function sandbox(extra = '') {
  const home = tempDir('cf-rel-state-');
  const yaml = sandboxConfig(
    home,
    `agent: { command: ${process.execPath} }\ntmux: { socket: cf-rel-none-${process.pid} }\n${extra}`,
  );
  const cfg = writeConfig(home, yaml);
  const stateDir = path.join(home, 'state');
  const file = path.join(stateDir, 'state.json');
  return { home, cfg, yaml, stateDir, file };
}

describe('kill -9 of a writer', () => {
  it('100 rounds at random points: state.json always parses and doctor says it is healthy', async () => {
    const sb = sandbox();
    const config = await parseConfigText(sb.yaml, sb.cfg, {
      env: { ...process.env, HOME: sb.home },
    });
    // The sandbox HOME: doctor runs the agent's login shell, and a real profile may be slow.
    const ctx = contextFromConfig(config, {
      out: new Output({ quiet: true }),
      env: { ...process.env, HOME: sb.home },
    });
    const writer = await worker('state-writer');
    const ROUNDS = 100;
    let tornTemps = 0;
    let newer = 0;
    let lastRound = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const child = startWorker(writer, [sb.stateDir]);
      await waitForOutput(child, 'ready');
      // Somewhere in the write loop: taking the lock, writing 3 MB, fsync, linking the
      // backup, renaming.
      await sleep(Math.random() * 100);
      child.kill('SIGKILL');
      await child;

      const text = fs.readFileSync(sb.file, 'utf8');
      const state = parseState(text, sb.file) as ReturnType<typeof parseState> & {
        round?: number;
      };
      if ((state.round ?? 0) > 1) newer++;
      lastRound = state.round ?? 0;
      const checks = await runDoctor(ctx);
      expect(checks.filter((c) => c.level === 'fail')).toEqual([]);
      expect(checks.find((c) => c.name === 'state')).toMatchObject({
        level: 'ok',
        detail: sb.file,
      });
      // The backup, once there is one, is a whole state too (what doctor --repair restores).
      if (fs.existsSync(`${sb.file}.bak`))
        parseState(fs.readFileSync(`${sb.file}.bak`, 'utf8'), `${sb.file}.bak`);
      if (round % 20 === 0 || round === ROUNDS) {
        const cli = await runCli(['doctor', '--json', '-c', sb.cfg], { home: sb.home });
        expect(cli.exitCode, cli.stdout).toBe(0);
        expect((JSON.parse(cli.stdout) as { checks: Json[] }).checks).toContainEqual(
          expect.objectContaining({ name: 'state', level: 'ok' }),
        );
      }
      // A temp file left behind means the kill landed mid-write. They are 3 MB each here.
      for (const f of fs.readdirSync(sb.stateDir).filter((n) => n.includes('.tmp-'))) {
        tornTemps++;
        fs.rmSync(path.join(sb.stateDir, f));
      }
      // The killed writer's lock is taken over after staleAfter (tested below); clear it so
      // that 100 rounds do not each wait for the takeover.
      fs.rmSync(`${sb.file}.lock`, { recursive: true, force: true });
    }
    // The kills landed inside writes, and the writers got further than their first write:
    // otherwise this proved nothing.
    expect(tornTemps).toBeGreaterThan(ROUNDS / 10);
    expect(newer).toBeGreaterThan(ROUNDS / 10);
    expect(lastRound).toBeGreaterThanOrEqual(1);
  }, 150_000);
});

describe('a lock left by a killed process', () => {
  const STALE = 2000;

  it('the state lock: a command waiting for it gets it once the lock is stale', async () => {
    const sb = sandbox();
    fs.mkdirSync(sb.stateDir, { recursive: true, mode: 0o700 });
    const holder = startWorker(await worker('lock-holder'), [sb.stateDir]);
    await waitForOutput(holder, 'locked');
    // While the holder lives, its lock is respected: a command that cannot wait exits 75.
    const impatient = writeConfig(
      sb.home,
      sb.yaml.replace(
        'lock: { waitFor: 2s, staleAfter: 2s }',
        'lock: { waitFor: 300ms, staleAfter: 2s }',
      ),
      'impatient.yaml',
    );
    const busy = await runCli(['quota', 'check', '-c', impatient], { home: sb.home });
    expect(busy.exitCode).toBe(75);
    expect(busy.stderr).toContain('is locked by another claude-failover process');

    const patient = writeConfig(
      sb.home,
      sb.yaml.replace(
        'lock: { waitFor: 2s, staleAfter: 2s }',
        'lock: { waitFor: 10s, staleAfter: 2s }',
      ),
      'patient.yaml',
    );
    holder.kill('SIGKILL');
    await holder;
    const killedAt = Date.now();
    const r = await runCli(['quota', 'check', '--json', '-c', patient], { home: sb.home });
    expect(r.exitCode, r.stderr).toBe(0);
    // updatedAt is stamped under the lock, the moment the command had it.
    const st = JSON.parse(fs.readFileSync(sb.file, 'utf8')) as { updatedAt: string };
    // Not before it was stale: the lock was really in the way. (That it got it at all, exit 0
    // within lock.waitFor, is the recovery; a lock never seen as stale exits 75.)
    const took = Date.parse(st.updatedAt) - killedAt;
    expect(took).toBeGreaterThan(STALE / 2);
  });

  it.each(['swap', 'tick'])(
    'the %s lock: free for the next run once staleAfter has passed since the kill',
    async (name) => {
      const sb = sandbox();
      fs.mkdirSync(sb.stateDir, { recursive: true, mode: 0o700 });
      const lockFile = path.join(sb.stateDir, name);
      const holder = startWorker(await worker('file-lock-holder'), [lockFile]);
      await waitForOutput(holder, 'locked');
      expect(await tryLock(lockFile, { staleAfter: STALE })).toBeNull();
      holder.kill('SIGKILL');
      await holder;
      const killedAt = Date.now();
      let release: (() => Promise<void>) | null = null;
      // A generous deadline: how soon is for bench/, not for a loaded test machine.
      while (!release && Date.now() - killedAt < STALE + 30_000) {
        release = await tryLock(lockFile, { staleAfter: STALE });
        if (!release) await sleep(50);
      }
      expect(release).not.toBeNull();
      await release!();
    },
  );

  it('tick through the CLI: skipped while the lock is fresh, runs at staleAfter + 1 s', async () => {
    const sb = sandbox();
    fs.mkdirSync(sb.stateDir, { recursive: true, mode: 0o700 });
    const holder = startWorker(await worker('file-lock-holder'), [path.join(sb.stateDir, 'tick')]);
    await waitForOutput(holder, 'locked');
    holder.kill('SIGKILL');
    await holder;
    const killedAt = Date.now();
    const early = await runCli(['tick', '--json', '-c', sb.cfg], { home: sb.home });
    expect(early.exitCode, early.stderr).toBe(0);
    if (Date.now() - killedAt < STALE - 500) expect(JSON.parse(early.stdout).skipped).toBe(true);
    await sleep(Math.max(0, killedAt + STALE + 1000 - Date.now()));
    const late = await runCli(['tick', '--json', '-c', sb.cfg], { home: sb.home });
    expect(late.exitCode, late.stderr).toBe(0);
    expect(JSON.parse(late.stdout).skipped).toBe(false);
  });
});

describe('a corrupt state.json', () => {
  const corruptions: Array<[string, string | Buffer, RegExp]> = [
    ['torn JSON', '{\n  "version": 1,\n  "activeAccount": "prim', /not valid JSON/],
    ['an empty file', '', /not valid JSON/],
    ['binary garbage', Buffer.from([0, 0xff, 0x13, 0x37, 0, 0x7b]), /not valid JSON/],
    ['another version', '{"version": 2}\n', /invalid state at version/],
    [
      'a wrong type',
      '{"version": 1, "sessions": {"ccl-0": {"restarts": "many"}}}\n',
      /invalid state at sessions\.ccl-0\.restarts/,
    ],
  ];

  const COMMANDS = [
    ['status'],
    ['status', '--json'],
    ['quota', 'check'],
    ['swap'],
    ['session', 'start'],
    ['watch'],
    ['dispatch'],
    ['checkpoint'],
    ['tick'],
  ];

  describe.concurrent.each(corruptions)('%s', (_what, bytes, why) => {
    it('every command exits 2 naming the file; doctor --repair restores the .bak and keeps the corrupt copy', async () => {
      const sb = sandbox();
      // A real state and backup, written by the CLI itself.
      for (let i = 0; i < 2; i++) {
        const r = await runCli(['quota', 'check', '-c', sb.cfg], { home: sb.home });
        expect(r.exitCode, r.stderr).toBe(0);
      }
      const bak = fs.readFileSync(`${sb.file}.bak`);
      parseState(bak.toString('utf8'), `${sb.file}.bak`);
      fs.writeFileSync(sb.file, bytes);
      const corrupt = fs.readFileSync(sb.file);

      const results = await Promise.all(
        COMMANDS.map((args) => runCli([...args, '-c', sb.cfg], { home: sb.home })),
      );
      results.forEach((r, i) => {
        const cmd = COMMANDS[i]!.join(' ');
        expect(r.exitCode, `${cmd}: ${r.stderr}`).toBe(2);
        let said = r.stderr;
        if (COMMANDS[i]!.includes('--json')) {
          const { error } = JSON.parse(r.stdout) as { error: { message: string; hint: string } };
          said = `${error.message}\n${error.hint}`;
        }
        expect(said, cmd).toContain(sb.file);
        expect(said, cmd).toMatch(why);
        expect(said, cmd).toContain('doctor --repair');
      });
      // Never overwritten, never "repaired" behind the operator's back.
      expect(fs.readFileSync(sb.file).equals(corrupt)).toBe(true);
      expect(fs.readFileSync(`${sb.file}.bak`).equals(bak)).toBe(true);

      const check = await runCli(['doctor', '-c', sb.cfg], { home: sb.home });
      expect(check.exitCode).toBe(1);
      expect(check.stdout).toMatch(new RegExp(`^fail\\s+state: ${sb.file}: `, 'm'));
      expect(check.stdout).toContain('the backup is usable');

      const repair = await runCli(['doctor', '--repair', '-c', sb.cfg], { home: sb.home });
      expect(repair.exitCode, repair.stdout).toBe(0);
      expect(repair.stdout).toMatch(/^ok\s+state: .*\(repaired: restored .*state\.json\.bak/m);
      // The backup is the state now, and the corrupt bytes are kept beside it.
      expect(fs.readFileSync(sb.file).equals(bak)).toBe(true);
      const copies = fs.readdirSync(sb.stateDir).filter((f) => f.startsWith('state.json.corrupt-'));
      expect(copies).toHaveLength(1);
      expect(fs.readFileSync(path.join(sb.stateDir, copies[0]!)).equals(corrupt)).toBe(true);
      expect(fs.statSync(path.join(sb.stateDir, copies[0]!)).mode & 0o777).toBe(0o600);
      expect(copies[0]).toMatch(/^state\.json\.corrupt-\d{4}-\d\d-\d\dT[\d-]+Z$/);
      // And the commands work again.
      const status = await runCli(['status', '--json', '-c', sb.cfg], { home: sb.home });
      expect(status.exitCode, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout).activeAccount).toBe('primary');
      expect((await runCli(['doctor', '-c', sb.cfg], { home: sb.home })).exitCode).toBe(0);
    });
  });
});
