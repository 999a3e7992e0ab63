/**
 * Reliability against hostile text: nothing runs, nothing is lost.
 *
 * - Task names and task texts (issue 6): shell syntax, tmux formats, quotes, newlines,
 *   escape sequences, big files. Every task is done exactly once, by its own id, its bytes
 *   unchanged; bad ones fail alone; no command runs; no escape reaches the terminal.
 * - Text into a pane (issue 2): pasted literally, byte for byte, nothing interpreted.
 * - Text out of a pane (issue 2): an agent that prints shell syntax, tmux formats and
 *   terminal escapes; quota check, checkpoint, status, watch and tick read it as data,
 *   keep it (escapes stripped) and run nothing, not even through a notification command.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DispatchReport } from '../../src/lib/dispatch/report.js';
import { readEvents } from '../../src/lib/core/events.js';
import { tempDir, tmuxSocket } from '../helpers/env.js';
import { simSandbox, waitFor, type SimSandbox } from '../helpers/sim.js';

type Json = Record<string, unknown>;

/** C0 control characters other than newline and tab, and DEL: what a terminal acts on. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;

/**
 * Files an injected `touch <prefix>-<n>` would have left: exact names, in the dirs where a
 * command could have run (each dir listed, not walked: other tests' files live in /tmp).
 */
function pwned(prefix: string, dirs: string[]): string[] {
  const re = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-[a-z]*\\d*$`);
  return dirs.flatMap((dir) =>
    fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => re.test(n)) : [],
  );
}

const q = (project: string, folder = 'inbox') => path.join(project, '.agent-queue', folder);

describe.concurrent('hostile task names and texts (dispatch)', () => {
  it('are data: each task is done once with its bytes unchanged, bad ones fail alone, nothing runs', async () => {
    const sb = simSandbox({ sessions: 'ccl-{0..2}', agentEnv: { SIM_TURN_MS: '50' } });
    expect((await sb.cli(['setup'])).exitCode).toBe(0);
    expect((await sb.cli(['session', 'start'])).exitCode).toBe(0);
    for (const n of ['ccl-0', 'ccl-1', 'ccl-2']) await sb.waitForPane(n, /^❯/m);
    const pwn = `cf-pwn-${process.pid}-d`;
    const names = [
      'has space',
      `it's "quoted"`,
      `$(touch ${pwn}-1)`,
      `\`touch ${pwn}-2\``,
      `semi;touch ${pwn}-3`,
      `#(touch ${pwn}-4) #{pane_pid}`,
      'new\nline',
      '-leading-dash',
      '--help',
      'ünïcödé ✓ 任务',
      'tab\there & | > <',
      `esc\u001b]0;title\u0007\u001b[31mred`,
      '%s %n ~ * ? [a] {b,c}',
    ];
    // Texts an agent reads, not anything we run: shell syntax, tmux formats, escapes, CRLF,
    // a `run:` line of its own, and one big file.
    const texts = [
      `$(touch ${pwn}-t1)\n\`touch ${pwn}-t2\`\n; touch ${pwn}-t3\n`,
      `#(touch ${pwn}-t4) #{session_name} %1\n`,
      `\u001b]52;c;dG91Y2ggcHdu\u0007\u001b[2J\u001b[Hescapes\n`,
      `line one\r\nline two\r\nrun: touch ${pwn}-t5\r\n`,
      `${'x'.repeat(199)}\n`.repeat(1000),
    ];
    fs.mkdirSync(q(sb.project), { recursive: true });
    const originals = new Map<string, Buffer>();
    const old = new Date(Date.now() - 60_000);
    names.forEach((id, i) => {
      const body = Buffer.from(`sim-work: 50ms\n${texts[i % texts.length]}`);
      const file = path.join(q(sb.project), `${id}.md`);
      fs.writeFileSync(file, body);
      fs.utimesSync(file, old, old);
      originals.set(id, body);
    });
    // Bad input, each failing alone (with its text kept in failed/).
    const bad: Record<string, [string | Buffer, string | RegExp]> = {
      'bad-yaml': ['---\npriority: [1\n---\nx\n', /^front matter: not valid YAML \(line \d\)/],
      'bad-priority': [
        '---\npriority: high\n---\nx\n',
        'front matter: priority: expected an integer (higher goes first)',
      ],
      'bad-session': [
        `---\nsession: "$(touch ${pwn}-s)"\n---\nx\n`,
        `front matter: session: unknown session '$(touch ${pwn}-s)' (sessions of api: ccl-0, ccl-1, ccl-2)`,
      ],
      'bad-utf8': [Buffer.from([0x68, 0x69, 0xff, 0xfe, 0x0a]), 'not valid UTF-8 text'],
      'bad-empty': ['', 'empty file'],
      'bad-only-front-matter': ['---\npriority: 1\n---\n', 'empty task: only front matter'],
    };
    for (const [id, [body]] of Object.entries(bad)) {
      const file = path.join(q(sb.project), `${id}.md`);
      fs.writeFileSync(file, body);
      fs.utimesSync(file, old, old);
    }

    const outputs: string[] = [];
    let failed: DispatchReport['failed'] = [];
    for (let round = 0; round < 12; round++) {
      const r = await sb.cli(['dispatch', '--json']);
      expect([0, 1], r.stderr).toContain(r.exitCode);
      const report = JSON.parse(r.stdout) as DispatchReport;
      expect(report.errors).toEqual([]);
      failed = failed.concat(report.failed);
      outputs.push(r.stderr);
      for (const args of [['task', 'list'], ['status'], ['dispatch', '--dry-run', '-v']]) {
        const h = await sb.cli(args);
        outputs.push(h.stdout, h.stderr);
      }
      if (!fs.readdirSync(q(sb.project)).some((n) => n.endsWith('.md'))) break;
      await waitFor(
        () => !fs.readdirSync(q(sb.project)).some((n) => n.endsWith('.dispatched')),
        'the round to finish',
        20_000,
      );
    }

    // Nothing lost: every task is in done/ (or failed/), byte for byte.
    expect(fs.readdirSync(q(sb.project))).toEqual([]);
    expect(fs.readdirSync(q(sb.project, 'done')).sort()).toEqual(
      names.map((id) => `${id}.md`).sort(),
    );
    for (const [id, body] of originals)
      expect(fs.readFileSync(path.join(q(sb.project, 'done'), `${id}.md`)).equals(body), id).toBe(
        true,
      );
    expect(failed.map((f) => f.task).sort()).toEqual(Object.keys(bad).sort());
    for (const [id, [body, reason]] of Object.entries(bad)) {
      expect(fs.readFileSync(path.join(q(sb.project, 'failed'), `${id}.md`))).toEqual(
        Buffer.from(body),
      );
      const why = fs.readFileSync(path.join(q(sb.project, 'failed'), `${id}.error.txt`), 'utf8');
      expect(why.split('\n')[0]).toMatch(reason);
      expect(failed.find((f) => f.task === id)!.reason).toMatch(reason);
    }
    // Done exactly once each, by the id the agent typed back.
    const done = readEvents(sb.stateDir).filter((e) => e.event === 'task.done');
    expect(done.map((e) => e.task).sort()).toEqual([...names].sort());
    // Nothing ran, anywhere the CLI or the agents ran.
    expect(pwned(pwn, [sb.project, sb.home, sb.stateDir, os.tmpdir(), process.cwd()])).toEqual([]);
    expect(await sb.tmux.hasSession('ccl-0')).toBe(true);
    // No escape from a name or a text reached the terminal.
    for (const text of outputs) expect(text).not.toMatch(CONTROL);
  }, 90_000);
});

// A line recorder: echoes each line it reads and appends it to a file, byte for byte.
const RECORDER = `
const fs = require('fs');
const out = process.argv[1];
process.stdout.write('ready> ');
let buf = '';
process.stdin.on('data', (d) => {
  buf += d.toString('utf8');
  let i;
  while ((i = buf.indexOf('\\n')) >= 0 || (i = buf.indexOf('\\r')) >= 0) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    fs.appendFileSync(out, JSON.stringify(line) + '\\n');
    process.stdout.write('\\ngot ' + line.length + '\\nready> ');
  }
});
`;

describe.concurrent('hostile text into a pane', () => {
  it('arrives verbatim and runs nothing, not as shell, not as tmux', async () => {
    const { tmux } = tmuxSocket();
    const dir = tempDir();
    const out = path.join(dir, 'received.jsonl');
    const pwn = path.join(dir, 'pwned');
    await tmux.newSession({
      name: 'rec',
      cwd: dir,
      command: [process.execPath, '-e', RECORDER, out],
    });
    await waitFor(
      async () => (await tmux.capturePane('rec', 5)).some((l) => l.includes('ready>')),
      'the recorder',
    );
    const hostile = [
      `$(touch ${pwn}-1); \`id\` ; tmux kill-server`,
      `'"; rm -rf / #\\ $HOME %s %n {0..3} \u00e9\u00e8 \u2603 -- --help`,
      `; touch ${pwn}-2; echo $((1+1)) && ls | cat > /dev/null`,
      `#(touch ${pwn}-3) #{pane_pid} #[fg=red] ## \\; kill-server ; run-shell "touch ${pwn}-4"`,
      '-t rec -X send-keys C-c Enter',
      // Under the 4095-byte line limit of the recorder's (canonical mode) tty.
      `${'a long line '.repeat(300)}end`,
    ];
    for (const text of hostile) await tmux.pasteText('rec', text);
    const received = await waitFor(() => {
      const t = fs.existsSync(out) ? fs.readFileSync(out, 'utf8').trim().split('\n') : [];
      return t.length >= hostile.length && t.map((l) => JSON.parse(l) as string);
    }, 'the recorder to receive every line');
    expect(received).toEqual(hostile);
    expect(pwned('pwned', [dir, os.tmpdir(), process.cwd()])).toEqual([]);
    // The server is still up: `kill-server` was text, not a command.
    expect(await tmux.hasSession('rec')).toBe(true);
  });
});

/** An "agent" that prints hostile text and waits, as a compromised tool output would. */
const PRINTER = `
const pwn = process.argv[2];
const lines = [
  '$(touch ' + pwn + '-p1) and \`touch ' + pwn + '-p2\`',
  '#(touch ' + pwn + '-p3) #{pane_pid} #[fg=red] ## %s %n',
  "'; touch " + pwn + "-p4 #",
  '\\u001b]0;pwned-title\\u0007\\u001b]52;c;dG91Y2g=\\u0007\\u001b[31mcoloured\\u001b[0m bell\\u0007',
  'API Error: 500 $(touch ' + pwn + '-p5) #(touch ' + pwn + '-p6) · retrying in 5s · attempt 1/10',
];
process.stdout.write(lines.join('\\r\\n') + '\\r\\n');
process.stdout.write(Buffer.from([0xff, 0xfe, 0x0d, 0x0a]));
process.stdin.resume();
for (const s of ['SIGTERM', 'SIGHUP']) process.on(s, () => process.exit(0));
`;

/** A notification command: appends each event it gets on stdin to a file. */
const SINK = `
let d = '';
process.stdin.on('data', (c) => (d += c));
process.stdin.on('end', () => require('fs').appendFileSync(process.argv[2], d.trim() + '\\n'));
`;

async function printerPool(): Promise<{ sb: SimSandbox; pwn: string; sinkOut: string }> {
  const dir = tempDir('cf-rel-hostile-');
  const printer = path.join(dir, 'printer.cjs');
  const sink = path.join(dir, 'sink.cjs');
  fs.writeFileSync(printer, PRINTER);
  fs.writeFileSync(sink, SINK);
  const pwn = path.join(dir, `cf-pwn-${process.pid}`);
  const sinkOut = path.join(dir, 'notified.jsonl');
  const sb = simSandbox({
    sessions: 'ccl-{0..1}',
    extra: `notify: { events: ['quota.*'], command: ${JSON.stringify([process.execPath, sink, sinkOut])} }`,
  });
  // The printer stands in for the agent: the config's command with its argv.
  const cfg = fs
    .readFileSync(sb.configFile, 'utf8')
    .replace(/^ {2}command: .*$/m, `  command: ${process.execPath}`)
    .replace(/^ {2}args: .*$/m, `  args: ${JSON.stringify([printer, pwn])}`);
  fs.writeFileSync(sb.configFile, cfg);
  return { sb, pwn, sinkOut };
}

describe.concurrent('hostile text out of a pane', () => {
  it('is read as data by every command: kept (escapes stripped), run nowhere', async () => {
    const { sb, pwn, sinkOut } = await printerPool();
    const start = await sb.cli(['session', 'start']);
    expect(start.exitCode, start.stderr).toBe(0);
    for (const n of ['ccl-0', 'ccl-1']) await sb.waitForPane(n, /attempt 1\/10/);
    const before = await sb.tmux.sessions();

    const outputs: string[] = [];
    for (const args of [
      ['quota', 'check'],
      ['quota', 'check', '--json'],
      ['checkpoint'],
      ['status'],
      ['status', '--json'],
      ['session', 'list'],
      ['watch'],
      ['dispatch'],
      ['tick'],
    ]) {
      const r = await sb.cli(args);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      outputs.push(r.stdout, r.stderr);
    }

    // Nothing ran: no file from $(...), backticks, ';' or tmux's #(...) and run-shell.
    expect(
      pwned(path.basename(pwn), [path.dirname(pwn), sb.home, sb.project, sb.stateDir]),
    ).toEqual([]);
    const after = await sb.tmux.sessions();
    for (const n of ['ccl-0', 'ccl-1']) expect(after.get(n)?.pid).toBe(before.get(n)?.pid);
    // No escape reached the terminal.
    for (const text of outputs) expect(text).not.toMatch(CONTROL);

    // Nothing lost: the checkpoint keeps the text as it was shown, minus the escapes.
    const latest = JSON.parse(
      fs.readFileSync(path.join(sb.stateDir, 'checkpoints', 'ccl-0', 'latest.json'), 'utf8'),
    ) as { paneTail: string[] };
    const tail = latest.paneTail.join('\n');
    for (const literal of [
      `$(touch ${pwn}-p1) and \`touch ${pwn}-p2\``,
      `#(touch ${pwn}-p3) #{pane_pid} #[fg=red] ## %s %n`,
      `'; touch ${pwn}-p4 #`,
      'coloured bell',
    ])
      expect(tail).toContain(literal);
    expect(tail).not.toMatch(CONTROL);
    expect(tail).not.toContain('pwned-title');
    // ... nor any file we wrote, raw or JSON-escaped.
    for (const file of fs.readdirSync(sb.stateDir, { recursive: true, withFileTypes: true })) {
      if (!file.isFile()) continue;
      const text = fs.readFileSync(path.join(file.parentPath, file.name), 'utf8');
      expect(text, file.name).not.toMatch(CONTROL);
      expect(text, file.name).not.toMatch(/\\u00(?:1b|07)/);
    }

    // The retry line was logged once as transient, and its text reached the notification
    // command as data on stdin.
    const detected = readEvents(sb.stateDir).filter((e) => e.event === 'quota.detected');
    expect(detected.map((e) => e.verdict)).toEqual(['transient', 'transient']);
    expect(detected[0]!.snippet).toContain(`$(touch ${pwn}-p5) #(touch ${pwn}-p6)`);
    const notified = await waitFor(
      () =>
        fs.existsSync(sinkOut) &&
        fs
          .readFileSync(sinkOut, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Json),
      'the notification command',
    );
    expect(notified.map((e) => e.event)).toContain('quota.detected');
    expect(JSON.stringify(notified)).toContain(`$(touch ${pwn}-p5)`);
    const st = JSON.parse(fs.readFileSync(path.join(sb.stateDir, 'state.json'), 'utf8')) as Json;
    expect(st).toMatchObject({ swaps: [], activeAccount: 'primary', pendingSwap: null });
  });
});
