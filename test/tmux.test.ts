import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stripAnsi } from '../src/lib/core/tmux.js';
import { tempDir, tmuxSocket, waitFor } from './helpers/env.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('tmux layer (real tmux, private socket)', () => {
  it('starts a session with cwd and env, lists it, captures it, and kills it', async () => {
    const { tmux } = tmuxSocket();
    const dir = tempDir();
    const cwd = path.join(dir, 'my project');
    fs.mkdirSync(cwd);
    expect(await tmux.hasSession('t1')).toBe(false);
    expect(await tmux.listPanes()).toEqual([]);

    await tmux.newSession({
      name: 't1',
      cwd,
      env: { CF_TEST_VALUE: 'hello $(world)' },
      unsetEnv: ['CLAUDECODE'],
      command: [
        process.execPath,
        '-e',
        "console.log('VALUE=' + process.env.CF_TEST_VALUE + ' CWD=' + process.cwd() + ' CC=' + process.env.CLAUDECODE); setInterval(() => {}, 1000)",
      ],
    });
    expect(await tmux.hasSession('t1')).toBe(true);
    // has-session is exact: 't' is not 't1'.
    expect(await tmux.hasSession('t')).toBe(false);
    const lines = await waitFor(async () => {
      const l = await tmux.capturePane('t1', 10);
      return l.some((x) => x.includes('VALUE=')) && l;
    }, 'the pane output');
    expect(lines.join('\n')).toContain(`VALUE=hello $(world) CWD=${cwd} CC=undefined`);

    const pane = (await tmux.sessions()).get('t1')!;
    expect(pane.dead).toBe(false);
    expect(pane.pid).toBeGreaterThan(0);
    expect(pane.currentCommand).toBe('node');
    expect(pane.currentPath).toBe(cwd);

    expect(await tmux.killSession('t1')).toBe(true);
    expect(await tmux.hasSession('t1')).toBe(false);
    expect(await tmux.killSession('t1')).toBe(false);
  });

  it('reports a dead pane kept by remain-on-exit', async () => {
    const { tmux } = tmuxSocket();
    await tmux.newSession({
      name: 'dies',
      cwd: tempDir(),
      command: ['sleep', '0.5'],
      remainOnExit: true,
    });
    const pane = await waitFor(async () => {
      const p = (await tmux.sessions()).get('dies');
      return p?.dead && p;
    }, 'the pane to die');
    // The pane is kept, so its last screen can still be read. tmux reports the exit status
    // only when it reaps the child itself, which a server started under vitest's worker
    // does not always do; when it is there, it must be right.
    if (pane.deadStatus !== null) expect(pane.deadStatus).toBe(0);
    expect(await tmux.hasSession('dies')).toBe(true);
  });

  it('reads a server that is up with no session as empty ("no current target")', async () => {
    const { tmux } = tmuxSocket();
    // What tmux 3.3 answers list-panes -a with when the last session was killed while a client
    // was attached: the server stays, and has no target.
    await tmux.run(['start-server', ';', 'set', '-g', 'exit-empty', 'off']);
    expect((await tmux.sessions()).size).toBe(0);
    expect(await tmux.hasSession('none')).toBe(false);
  });

  it('shares one list-panes among concurrent callers, never one older than its own change', async () => {
    const { tmux } = tmuxSocket();
    const cwd = tempDir();
    await tmux.newSession({ name: 'a', cwd, command: ['sleep', '60'] });
    // Watch (and slow down) the list-panes calls; tmux itself still answers them.
    let lists = 0;
    const run = tmux.run.bind(tmux);
    tmux.run = async (args, opts) => {
      const out = await run(args, opts);
      if (args[0] === 'list-panes') {
        lists++;
        await sleep(300);
      }
      return out;
    };
    const all = await Promise.all(Array.from({ length: 10 }, () => tmux.sessions()));
    expect(lists).toBe(1);
    expect(all.every((m) => m.has('a'))).toBe(true);

    // A listing in flight from before a change is not handed to a caller after it.
    const before = tmux.sessions();
    await sleep(50);
    await tmux.newSession({ name: 'b', cwd, command: ['sleep', '60'] });
    await tmux.killSession('a');
    const after = await tmux.sessions();
    expect([...after.keys()].sort()).toEqual(['b']);
    expect([...(await before).keys()]).toEqual(['a']);
    expect(lists).toBe(3);
  });

  it('captures asked for together go out as one tmux call; each pane gets its own text, a gone one its own error', async () => {
    const { tmux } = tmuxSocket();
    const cwd = tempDir();
    // Pane text that looks like a separator, and a pane with nothing on it.
    const texts: Record<string, string> = {
      p1: 'first pane',
      p2: 'cf-capture-0123456789abcdef01234567',
      p3: '',
      p4: 'fourth\nwith two lines',
    };
    for (const [name, text] of Object.entries(texts))
      await tmux.newSession({
        name,
        cwd,
        command: [
          process.execPath,
          '-e',
          `process.stdout.write(${JSON.stringify(text)}); setInterval(() => {}, 1000)`,
        ],
      });
    for (const [name, text] of Object.entries(texts))
      if (text)
        await waitFor(
          async () => (await tmux.capturePane(name, 5)).join('\n') === text,
          `${name}'s text`,
        );
    const calls: string[][] = [];
    const run = tmux.run.bind(tmux);
    tmux.run = async (args, opts) => {
      calls.push([...args]);
      return run(args, opts);
    };
    const names = Object.keys(texts);
    const got = await Promise.all(names.map((n) => tmux.capturePane(n, 5)));
    expect(calls.filter((c) => c[0] === 'capture-pane')).toHaveLength(1);
    names.forEach((n, i) => expect(got[i]!.join('\n')).toBe(texts[n]));

    // One of them is gone: tmux stops at it, and each is asked on its own.
    calls.length = 0;
    const mixed = await Promise.allSettled(['p1', 'gone', 'p4'].map((n) => tmux.capturePane(n, 5)));
    expect(mixed.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((mixed[0] as PromiseFulfilledResult<string[]>).value).toEqual(['first pane']);
    expect((mixed[2] as PromiseFulfilledResult<string[]>).value.join('\n')).toBe(texts.p4);
    expect(calls.filter((c) => c[0] === 'capture-pane')).toHaveLength(4);
  });

  it('runs one command per target in one invocation, each on its own when one fails', async () => {
    const { tmux } = tmuxSocket();
    const cwd = tempDir();
    for (const name of ['x', 'y', 'z'])
      await tmux.newSession({ name, cwd, command: ['sleep', '60'] });
    await tmux.runEach(['x', 'y'], (s) => ['kill-session', '-t', `=${s}`]);
    expect([...(await tmux.sessions()).keys()]).toEqual(['z']);
    // 'gone' makes tmux skip the rest of the line: 'z' is killed by the fallback.
    await tmux.runEach(['gone', 'z'], (s) => ['kill-session', '-t', `=${s}`]);
    expect(await tmux.listPanes()).toEqual([]);
  });

  it('keeps unicode text and paths without a UTF-8 locale (as under cron)', async () => {
    const saved = {
      LANG: process.env.LANG,
      LC_ALL: process.env.LC_ALL,
      LC_CTYPE: process.env.LC_CTYPE,
    };
    delete process.env.LANG;
    delete process.env.LC_ALL;
    delete process.env.LC_CTYPE;
    try {
      const { tmux } = tmuxSocket();
      const cwd = path.join(tempDir(), 'répertoire ☃');
      fs.mkdirSync(cwd);
      const msg = "You've hit your session limit · resets 12:50am (America/Los_Angeles) ∙ ⎿";
      await tmux.newSession({
        name: 'u',
        cwd,
        command: [
          process.execPath,
          '-e',
          `console.log(${JSON.stringify(msg)}); setInterval(() => {}, 1000)`,
        ],
      });
      const lines = await waitFor(async () => {
        const l = await tmux.capturePane('u', 5);
        return l.some((x) => x.includes('resets')) && l;
      }, 'the message');
      expect(lines).toContain(msg);
      expect((await tmux.sessions()).get('u')!.currentPath).toBe(cwd);
    } finally {
      Object.assign(
        process.env,
        Object.fromEntries(Object.entries(saved).filter(([, v]) => v !== undefined)),
      );
    }
  });

  it('strips ANSI escapes from captured text', () => {
    expect(stripAnsi('\u001b[1m\u001b[31mred\u001b[0m plain \u001b]0;title\u0007x')).toBe(
      'red plain x',
    );
  });
});
