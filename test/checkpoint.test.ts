import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import {
  checkpointFileName,
  checkpointTimeOf,
  currentTask,
  latestCheckpointPath,
  listCheckpoints,
  readLatestCheckpoint,
  summarizeToolInput,
  writeCheckpoints,
} from '../src/lib/agents/checkpoint.js';
import { parseConfigText } from '../src/lib/core/config-parse.js';
import { contextFromConfig } from '../src/lib/core/context.js';
import { readEvents } from '../src/lib/core/events.js';
import { Output } from '../src/lib/core/output.js';
import { listDispatchMarkers } from '../src/lib/queue/files.js';
import { readLinesFromEnd, type LineInfo } from '../src/lib/claude/lines-from-end.js';
import { scanTranscriptTail } from '../src/lib/claude/transcript.js';
import { findTranscript, locateSessionTranscript } from '../src/lib/claude/transcript-find.js';
import { encodeProjectDir } from '../src/lib/claude/transcript-path.js';
import type { Tmux } from '../src/lib/core/tmux.js';
import { ROOT, runCli, sandboxConfig, tempDir, tmuxSocket, writeConfig } from './helpers/env.js';

// A verbatim copy of the shared real samples (provenance in transcript-samples-SOURCES.md).
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'transcript-samples.jsonl');
const TOKEN = 'sk-ant-oat01-PLANTEDsecretTOKENvalue0123456789abcdef';
const ID = (n: number) => `${String(n).padStart(8, '0')}-1111-4222-8333-444444444444`;

function writeFile(dir: string, name: string, content: string | Buffer): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

function linesFromEnd(file: string, opts = {}): { lines: string[]; infos: LineInfo[] } {
  const lines: string[] = [];
  const infos: LineInfo[] = [];
  readLinesFromEnd(
    file,
    (l, info) => {
      lines.push(l);
      infos.push(info);
    },
    opts,
  );
  return { lines, infos };
}

async function until<T>(fn: () => Promise<T> | T, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Transcript lines shaped like Claude Code 2.1.x writes them.
const base = (id: string, cwd: string, ts: string) => ({
  parentUuid: null,
  isSidechain: false,
  userType: 'external',
  cwd,
  sessionId: id,
  version: '2.1.328',
  timestamp: ts,
});
const userLine = (id: string, cwd: string, ts: string, text: string) =>
  JSON.stringify({ ...base(id, cwd, ts), type: 'user', message: { role: 'user', content: text } });
const toolUseLine = (id: string, cwd: string, ts: string, name: string, input: unknown) =>
  JSON.stringify({
    ...base(id, cwd, ts),
    type: 'assistant',
    requestId: 'req_1',
    message: {
      role: 'assistant',
      model: 'claude-opus-4-6',
      content: [{ type: 'tool_use', id: 'toolu_1', name, input }],
    },
  });
const textLine = (id: string, cwd: string, ts: string, text: string) =>
  JSON.stringify({
    ...base(id, cwd, ts),
    type: 'assistant',
    message: { role: 'assistant', model: 'claude-opus-4-6', content: [{ type: 'text', text }] },
  });
const toolResultLine = (id: string, cwd: string, ts: string) =>
  JSON.stringify({
    ...base(id, cwd, ts),
    type: 'user',
    message: {
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'ok' }],
    },
    toolUseResult: { stdout: 'ok', stderr: '' },
  });
const rateLimitLine = (id: string, cwd: string, ts: string) =>
  JSON.stringify({
    ...base(id, cwd, ts),
    type: 'assistant',
    error: 'rate_limit',
    apiErrorStatus: 429,
    isApiErrorMessage: true,
    message: {
      role: 'assistant',
      model: '<synthetic>',
      content: [{ type: 'text', text: "You've hit your session limit · resets 3:45pm (UTC)" }],
    },
  });

describe('readLinesFromEnd', () => {
  it('gives the lines of a forward split, newest first, for every chunk size (UTF-8 split across chunks)', () => {
    const dir = tempDir();
    const lines = [
      'héllo wörld',
      '日本語のテキスト',
      'emoji 🎉🚀 and ß',
      '',
      'plain',
      'ünïcödé 🎉',
    ];
    const file = writeFile(dir, 't.jsonl', `${lines.join('\n')}\n`);
    const expected = lines.filter((l) => l).reverse();
    for (let chunk = 1; chunk <= 48; chunk++) {
      const got = linesFromEnd(file, { chunkSize: chunk });
      expect(got.lines, `chunk ${chunk}`).toEqual(expected);
    }
  });

  it('reports byte offsets of each line and strips CRLF', () => {
    const dir = tempDir();
    const content = 'first\r\nsecond é\r\nthird\r\n';
    const file = writeFile(dir, 'crlf.jsonl', content);
    const { lines, infos } = linesFromEnd(file, { chunkSize: 4 });
    expect(lines).toEqual(['third', 'second é', 'first']);
    const buf = fs.readFileSync(file);
    for (const [i, info] of infos.entries()) {
      expect(buf.subarray(info.offset, info.offset + info.bytes).toString('utf8')).toBe(lines[i]);
    }
  });

  it('leaves out a partial last line unless asked, and then marks it unterminated', () => {
    const dir = tempDir();
    const file = writeFile(dir, 'p.jsonl', '{"a":1}\n{"b":2}\n{"c":3, "partial');
    expect(linesFromEnd(file).lines).toEqual(['{"b":2}', '{"a":1}']);
    const withPartial = linesFromEnd(file, { partialLast: true });
    expect(withPartial.lines[0]).toBe('{"c":3, "partial');
    expect(withPartial.infos.map((i) => i.terminated)).toEqual([false, true, true]);
  });

  it('handles an empty file, blank lines only, and a file with no newline at all', () => {
    const dir = tempDir();
    const empty = writeFile(dir, 'e.jsonl', '');
    const res = readLinesFromEnd(empty, () => {
      throw new Error('no line expected');
    });
    expect(res).toMatchObject({ size: 0, lines: 0, reachedStart: true });
    expect(linesFromEnd(writeFile(dir, 'b.jsonl', '\n\n  \n\r\n')).lines).toEqual([]);
    const one = writeFile(dir, 'one.jsonl', 'only line');
    expect(linesFromEnd(one).lines).toEqual([]);
    expect(linesFromEnd(one, { partialLast: true }).lines).toEqual(['only line']);
  });

  it('reassembles a single line much bigger than the chunk', () => {
    const dir = tempDir();
    const big = `{"text":"${'ж'.repeat(300_000)}🎉"}`;
    const file = writeFile(dir, 'big.jsonl', `small\n${big}\ntail\n`);
    const { lines } = linesFromEnd(file, { chunkSize: 4096 });
    expect(lines).toHaveLength(3);
    expect(lines[1]).toBe(big);
    expect(lines[2]).toBe('small');
  });

  it('skips a line longer than maxLineBytes without buffering it, wherever it is', () => {
    const dir = tempDir();
    const huge = 'x'.repeat(3 * 1024 * 1024);
    for (const content of [
      `a\n${huge}\nc\n`,
      `${huge}\nb\nc\n`, // the first line of the file
      `a\nb\n${huge}\n`, // the last line
    ]) {
      const file = writeFile(dir, 'long.jsonl', content);
      const got: string[] = [];
      const res = readLinesFromEnd(file, (l) => void got.push(l), {
        chunkSize: 64 * 1024,
        maxLineBytes: 1024 * 1024,
      });
      expect(res.skippedLong).toBe(1);
      expect(got.every((l) => l.length === 1)).toBe(true);
      expect(got).toHaveLength(2);
    }
  });

  it('reads only the chunks it needs when the visitor stops, and no more than maxBytes', () => {
    const dir = tempDir();
    const line = `${JSON.stringify({ type: 'user', pad: 'p'.repeat(1000) })}\n`;
    const file = writeFile(dir, 'long.jsonl', line.repeat(20_000)); // ~20 MB
    const stopped = readLinesFromEnd(file, () => true);
    expect(stopped.stopped).toBe(true);
    expect(stopped.bytesRead).toBeLessThanOrEqual(64 * 1024);
    let n = 0;
    const bounded = readLinesFromEnd(file, () => void n++, { maxBytes: 200_000 });
    expect(bounded.reachedStart).toBe(false);
    expect(bounded.bytesRead).toBe(200_000);
    expect(n).toBeGreaterThan(150);
    expect(n).toBeLessThanOrEqual(200);
  });
});

describe('scanTranscriptTail', () => {
  const fixture = fs.readFileSync(FIXTURE, 'utf8').split('\n').filter(Boolean);

  it('reads every line of the real samples, alone, without skipping any', () => {
    expect(fixture).toHaveLength(10);
    const dir = tempDir();
    const want = [
      'claudeSessionId',
      'cwd',
      'lastToolCall',
      'lastAssistantText',
      'lastUserText',
      'lastRateLimit',
      'lastTimestamp',
    ] as const;
    const tails = fixture.map((line, i) => {
      const file = writeFile(dir, `line-${i + 1}.jsonl`, `${line}\n`);
      const t = scanTranscriptTail(file, { want });
      expect(t.stats.skippedLines, `line ${i + 1}`).toBe(0);
      expect(t.stats.lines, `line ${i + 1}`).toBe(1);
      return t;
    });
    const [l1, l2, l3, l4, l5, l6, l7, l8, l9, l10] = tails;
    expect(l1).toMatchObject({
      claudeSessionId: '8122657c-fe54-4dc9-89a3-20049e8a84f7',
      cwd: '/Users/USER/dev/vibeinsights/fixtures/claudecode',
      lastTimestamp: '2025-10-12T21:35:53.825Z',
      lastToolCall: null,
      lastAssistantText: null,
    });
    expect(l1!.lastUserText?.text).toMatch(/^create a file `JOKE.md`/);
    expect(l2!.lastToolCall).toMatchObject({
      id: 'toolu_01QJVoGNGRGH9v9TNN9LQzK9',
      name: 'Write',
      at: '2025-10-12T21:36:05.153Z',
      input: { file_path: '/Users/USER/dev/vibeinsights/fixtures/claudecode/JOKE.md' },
    });
    expect(l3).toMatchObject({ lastUserText: null, lastToolCall: null });
    expect(l3!.claudeSessionId).toBe('8122657c-fe54-4dc9-89a3-20049e8a84f7');
    // A legacy summary line has none of the fields; it is read, not rejected.
    expect(l4).toMatchObject({ claudeSessionId: null, cwd: null, lastTimestamp: null });
    expect(l5).toMatchObject({
      claudeSessionId: '0e26ec2f-937e-482c-b889-bc126f996913',
      cwd: '/Users/USER/dev/studio',
      lastTimestamp: '2025-10-10T21:57:51.963Z',
      lastUserText: null,
    });
    expect(l6!.lastUserText?.text).toMatch(/^Work on bead spotter-dov/);
    expect(l7!.lastToolCall).toMatchObject({
      name: 'Bash',
      input: { command: 'bd show spotter-dov' },
      at: '2026-02-12T16:02:29.111Z',
    });
    expect(l8).toMatchObject({ lastUserText: null, lastToolCall: null });
    expect(l9).toMatchObject({ lastTimestamp: '2026-02-12T16:08:07.223Z', lastUserText: null });
    expect(l10).toMatchObject({
      claudeSessionId: '85ea79c9-c515-4a27-afbd-20ab88025f3e',
      lastAssistantText: null, // an API error is not the agent's words
      lastRateLimit: {
        status: 429,
        error: 'rate_limit',
        at: '2026-07-15T17:40:12.594Z',
        text: "You've reached your Fable 5 limit. Run /usage-credits to continue or switch models with /model.",
      },
    });
    expect(l10!.lastRateLimit!.details).toMatch(/rate_limit_error/);
    expect(l10!.lastApiError).toEqual(l10!.lastRateLimit);
  });

  it('scans the whole sample file: each field from the newest line that has it', () => {
    const t = scanTranscriptTail(FIXTURE, {
      want: ['lastToolCall', 'lastUserText', 'lastRateLimit', 'lastAssistantText'],
    });
    expect(t.stats.skippedLines).toBe(0);
    expect(t.claudeSessionId).toBe('85ea79c9-c515-4a27-afbd-20ab88025f3e');
    expect(t.lastRateLimit?.status).toBe(429);
    expect(t.lastToolCall?.name).toBe('Bash');
    expect(t.lastUserText?.text).toMatch(/^Work on bead/);
    expect(t.lastAssistantText).toBeNull();
    expect(t.lastTimestamp).toBe('2026-07-15T17:40:12.594Z');
    expect(t.stats.reachedStart).toBe(true);
  });

  it('does not depend on line order or on unknown lines, and skips garbage and a torn last line', () => {
    const dir = tempDir();
    const id = ID(1);
    const cwd = '/srv/api';
    const lines = [
      userLine(id, cwd, '2026-11-24T10:00:00.000Z', 'please fix the bug'),
      textLine(id, cwd, '2026-11-24T10:00:01.000Z', 'Looking at it.'),
      toolUseLine(id, cwd, '2026-11-24T10:00:02.000Z', 'Read', { file_path: '/srv/api/a.ts' }),
      toolResultLine(id, cwd, '2026-11-24T10:00:03.000Z'),
      // Lines a newer Claude Code may add after the tool call, in any order.
      JSON.stringify({ type: 'file-history-snapshot', messageId: 'm', snapshot: {} }),
      JSON.stringify({ type: 'system', subtype: 'turn_duration', durationMs: 5 }),
      JSON.stringify({ type: 'last-prompt', lastPrompt: 'please fix the bug', sessionId: id }),
      JSON.stringify({ type: 'progress', data: { type: 'hook_progress' } }),
      JSON.stringify({ type: 'some-future-type', message: 'a string, not an object' }),
      JSON.stringify({ type: 'assistant', message: { content: [{ type: 'mystery' }] } }),
      JSON.stringify({ type: 'assistant', timestamp: 12345, message: { content: 7 } }),
      'not json at all',
      '[1,2,3]',
      '42',
      '{"type":"assistant","message":{"content":[{"type":"text","text":"torn wri',
    ];
    const file = writeFile(dir, `${id}.jsonl`, lines.join('\n'));
    const t = scanTranscriptTail(file, { chunkSize: 97 });
    expect(t).toMatchObject({
      claudeSessionId: id,
      cwd,
      lastToolCall: { name: 'Read', input: { file_path: '/srv/api/a.ts' } },
      lastAssistantText: { text: 'Looking at it.', at: '2026-11-24T10:00:01.000Z' },
    });
    expect(t.stats.skippedLines).toBe(4); // the garbage, the array, the number, the torn line

    // Text after the tool call is the newer one; several tool_use blocks: the last counts.
    const other = writeFile(
      dir,
      `${ID(2)}.jsonl`,
      [
        JSON.stringify({
          ...base(ID(2), cwd, '2026-11-24T11:00:00.000Z'),
          type: 'assistant',
          message: {
            role: 'assistant',
            content: [
              { type: 'thinking', thinking: 'hmm', signature: 'x' },
              { type: 'tool_use', id: 't1', name: 'Grep', input: { pattern: 'a' } },
              { type: 'tool_use', id: 't2', name: 'Bash', input: { command: 'npm test' } },
            ],
          },
        }),
        textLine(ID(2), cwd, '2026-11-24T11:00:05.000Z', 'All tests pass.'),
        '',
      ].join('\n'),
    );
    expect(scanTranscriptTail(other)).toMatchObject({
      lastToolCall: { id: 't2', name: 'Bash' },
      lastAssistantText: { text: 'All tests pass.' },
    });
  });

  it('ignores subagent (sidechain) lines and meta user lines', () => {
    const dir = tempDir();
    const id = ID(3);
    const file = writeFile(
      dir,
      `${id}.jsonl`,
      [
        userLine(id, '/p', '2026-11-24T10:00:00.000Z', 'the real prompt'),
        toolUseLine(id, '/p', '2026-11-24T10:00:01.000Z', 'Task', { description: 'explore' }),
        JSON.stringify({
          ...JSON.parse(
            toolUseLine(id, '/p', '2026-11-24T10:00:02.000Z', 'Bash', { command: 'ls' }),
          ),
          isSidechain: true,
        }),
        JSON.stringify({
          ...JSON.parse(userLine(id, '/p', '2026-11-24T10:00:03.000Z', '<command-name>/x')),
          isMeta: true,
        }),
        '',
      ].join('\n'),
    );
    const t = scanTranscriptTail(file, { want: ['lastToolCall', 'lastUserText'] });
    expect(t.lastToolCall?.name).toBe('Task');
    expect(t.lastUserText?.text).toBe('the real prompt');
  });

  it('finds a 429 newer than `since`, and stops at older lines instead of reading everything', () => {
    const dir = tempDir();
    const id = ID(4);
    const old: string[] = [];
    for (let i = 0; i < 5000; i++)
      old.push(userLine(id, '/p', `2026-11-20T10:00:00.000Z`, `old ${'x'.repeat(200)}`));
    const file = writeFile(
      dir,
      `${id}.jsonl`,
      [
        ...old,
        rateLimitLine(id, '/p', '2026-11-24T09:00:00.000Z'),
        userLine(id, '/p', '2026-11-24T10:00:00.000Z', 'continue'),
        '',
      ].join('\n'),
    );
    const size = fs.statSync(file).size;
    const recent = scanTranscriptTail(file, {
      want: ['lastRateLimit'],
      since: '2026-11-24T08:00:00.000Z',
    });
    expect(recent.lastRateLimit?.text).toMatch(/session limit/);
    expect(recent.stats.bytesRead).toBeLessThan(size / 10);

    const later = scanTranscriptTail(file, {
      want: ['lastRateLimit'],
      since: new Date('2026-11-24T09:30:00.000Z'),
    });
    expect(later.lastRateLimit).toBeNull();
    expect(later.stats.bytesRead).toBeLessThan(size / 10);
    expect(later.stats.complete).toBe(false);
  });

  it('recognises the 2025 limit text on a synthetic line without a status', () => {
    const dir = tempDir();
    const line = JSON.stringify({
      type: 'assistant',
      timestamp: '2025-07-26T10:00:00.000Z',
      message: {
        model: '<synthetic>',
        role: 'assistant',
        content: [{ type: 'text', text: 'Claude AI usage limit reached|1753560000' }],
      },
    });
    const t = scanTranscriptTail(writeFile(dir, 'legacy.jsonl', `${line}\n`), {
      want: ['lastRateLimit'],
    });
    expect(t.lastRateLimit).toMatchObject({ text: 'Claude AI usage limit reached|1753560000' });
  });
});

async function sandbox(extra = '') {
  const home = tempDir();
  const { socket, tmux } = tmuxSocket();
  const file = writeConfig(home, sandboxConfig(home, `tmux: { socket: ${socket} }\n${extra}`));
  const config = await parseConfigText(fs.readFileSync(file, 'utf8'), file);
  const ctx = contextFromConfig(config, { out: new Output({ quiet: true }) });
  const project = path.join(home, 'src', 'api');
  fs.mkdirSync(project, { recursive: true });
  const projectsDir = path.join(config.sharedProjectsDir, encodeProjectDir(project));
  return { home, socket, tmux, file, ctx, config, project, projectsDir };
}

function writeStatus(project: string, sessions: Record<string, Record<string, unknown>>) {
  writeFile(
    path.join(project, '.agent-queue'),
    'status.json',
    JSON.stringify({
      sessions: Object.fromEntries(
        Object.entries(sessions).map(([k, v]) => [
          k,
          { state: 'idle', task: null, updatedAt: null, ...v },
        ]),
      ),
    }),
  );
}

function touch(file: string, content: string, mtime: Date) {
  writeFile(path.dirname(file), path.basename(file), content);
  fs.utimesSync(file, mtime, mtime);
}

describe('finding the transcript of a session', () => {
  it('takes the hooks over any file scan, and resolves an id without a path under the account dir', async () => {
    const { ctx, project, projectsDir, config } = await sandbox();
    const session = config.sessions[0]!;
    const hooked = path.join(projectsDir, `${ID(10)}.jsonl`);
    touch(hooked, '{}\n', new Date('2026-11-24T09:00:00Z'));
    touch(path.join(projectsDir, `${ID(11)}.jsonl`), '{}\n', new Date('2026-11-24T10:00:00Z'));
    writeStatus(project, { 'ccl-0': { claudeSessionId: ID(10), transcriptPath: hooked } });
    const state = ctx.state.read();
    expect(
      locateSessionTranscript(ctx, session, { state, cwd: project, account: 'primary' }),
    ).toEqual({
      claudeSessionId: ID(10),
      transcriptPath: hooked,
      source: 'hooks',
    });

    // An id only, its file in the account's own projects/ (not linked to the shared tree).
    const own = path.join(config.accounts[0]!.configDir, 'projects', encodeProjectDir(project));
    const ownFile = path.join(own, `${ID(12)}.jsonl`);
    touch(ownFile, '{}\n', new Date());
    writeStatus(project, { 'ccl-0': { claudeSessionId: ID(12) } });
    expect(
      locateSessionTranscript(ctx, session, { state, cwd: project, account: 'primary' }),
    ).toEqual({
      claudeSessionId: ID(12),
      transcriptPath: ownFile,
      source: 'hooks',
    });

    // A known id whose file does not exist yet is kept; no other file is taken for it.
    writeStatus(project, { 'ccl-0': { claudeSessionId: ID(13) } });
    expect(
      locateSessionTranscript(ctx, session, { state, cwd: project, account: 'primary' }),
    ).toEqual({
      claudeSessionId: ID(13),
      transcriptPath: null,
      source: 'hooks',
    });
  });

  it('without hooks, takes the newest transcript of the cwd that no other session claims', async () => {
    const { ctx, project, projectsDir, config } = await sandbox();
    const [s0] = config.sessions;
    const mine = path.join(projectsDir, `${ID(20)}.jsonl`);
    touch(mine, '{}\n', new Date('2026-11-24T10:00:00Z'));
    // Newer, but claimed: ccl-1 through its hooks, ccl-2 through the state file.
    touch(path.join(projectsDir, `${ID(21)}.jsonl`), '{}\n', new Date('2026-11-24T10:05:00Z'));
    touch(path.join(projectsDir, `${ID(22)}.jsonl`), '{}\n', new Date('2026-11-24T10:06:00Z'));
    // Not a transcript name: ignored.
    touch(path.join(projectsDir, 'notes.jsonl'), '{}\n', new Date('2026-11-24T10:07:00Z'));
    writeStatus(project, { 'ccl-1': { claudeSessionId: ID(21) } });
    await ctx.state.update((st) => {
      st.sessions['ccl-2'] = { ...st.sessions['ccl-2'], claudeSessionId: ID(22) } as never;
    });
    let state = ctx.state.read();
    expect(locateSessionTranscript(ctx, s0!, { state, cwd: project, account: 'primary' })).toEqual({
      claudeSessionId: ID(20),
      transcriptPath: mine,
      source: 'newest-for-cwd',
    });

    // Launched after the file was last written: that file belongs to an earlier agent.
    await ctx.state.update((st) => {
      st.sessions['ccl-0'] = {
        ...st.sessions['ccl-0'],
        launchedAt: '2026-11-24T11:00:00.000Z',
      } as never;
    });
    state = ctx.state.read();
    expect(locateSessionTranscript(ctx, s0!, { state, cwd: project, account: 'primary' })).toEqual({
      claudeSessionId: null,
      transcriptPath: null,
      source: null,
    });
  });

  it('prefers the first claim that names an id (hooks, then signals, then state)', () => {
    const root = tempDir();
    const dir = path.join(root, encodeProjectDir('/x'));
    const f = (n: number) => {
      touch(path.join(dir, `${ID(n)}.jsonl`), '{}\n', new Date());
      return path.join(dir, `${ID(n)}.jsonl`);
    };
    f(30);
    const file31 = f(31);
    const loc = findTranscript({
      claims: [
        { source: 'hooks', claudeSessionId: null, transcriptPath: null },
        { source: 'signals', claudeSessionId: 'not-a-uuid', transcriptPath: '/etc/passwd' },
        { source: 'state', claudeSessionId: ID(31), transcriptPath: null },
      ],
      claimedByOthers: new Set(),
      cwds: ['/x'],
      projectsDirs: [root],
    });
    expect(loc).toEqual({ claudeSessionId: ID(31), transcriptPath: file31, source: 'state' });
  });
});

describe('dispatch markers and the current task', () => {
  it('takes the newest marker of this session, else the status.json task', async () => {
    const { project, config } = await sandbox();
    const inbox = path.join(project, '.agent-queue', 'inbox');
    const marker = (id: string, m: unknown) =>
      writeFile(inbox, `${id}.md.dispatched`, typeof m === 'string' ? m : JSON.stringify(m));
    writeFile(inbox, 'a.md', '# a');
    writeFile(inbox, 'b.md', '# b');
    marker('a', {
      session: 'ccl-0',
      account: 'primary',
      dispatchedAt: '2026-11-24T10:00:00Z',
      attempt: 1,
    });
    marker('b', {
      session: 'ccl-0',
      account: 'primary',
      dispatchedAt: '2026-11-24T11:00:00Z',
      attempt: 2,
    });
    marker('c', {
      session: 'ccl-1',
      account: 'primary',
      dispatchedAt: '2026-11-24T12:00:00Z',
      attempt: 1,
    });
    marker('d', '');
    marker('e', { session: 'ccl-0', account: 'primary', dispatchedAt: 'yesterday', attempt: 1 });
    const invalid: string[] = [];
    expect(listDispatchMarkers(project, (m) => invalid.push(m)).map((m) => m.taskId)).toEqual([
      'a',
      'b',
      'c',
    ]);
    expect(invalid).toHaveLength(2);
    expect(invalid[1]).toMatch(/e\.md\.dispatched: dispatchedAt/);

    const s0 = config.sessions[0]!;
    expect(currentTask(s0, undefined)).toEqual({
      id: 'b',
      path: path.join(inbox, 'b.md'),
      dispatchedAt: '2026-11-24T11:00:00Z',
      attempt: 2,
    });
    const s2 = config.sessions[2]!;
    const hook = { state: 'working' as const, task: 'x-1', claudeSessionId: null, updatedAt: null };
    expect(currentTask(s2, hook)).toEqual({
      id: 'x-1',
      path: path.join(inbox, 'x-1.md'),
      dispatchedAt: null,
      attempt: null,
    });
    expect(currentTask(s2, { ...hook, task: '../../etc/passwd' })).toBeNull();
    expect(currentTask(s2, { ...hook, task: null })).toBeNull();
  });
});

describe('checkpoint files', () => {
  it('names files by a filesystem-safe ISO time that sorts and reads back', () => {
    const at = new Date('2026-11-24T10:15:30.123Z');
    expect(checkpointFileName(at)).toBe('2026-11-24T10-15-30.123Z.json');
    expect(checkpointTimeOf(checkpointFileName(at))?.toISOString()).toBe(at.toISOString());
    expect(checkpointTimeOf('latest.json')).toBeNull();
  });

  it('summarises tool inputs briefly and without secrets', () => {
    expect(
      summarizeToolInput('Bash', { command: `curl -H "x-api-key: ${TOKEN}" x` }),
    ).not.toContain(TOKEN);
    expect(summarizeToolInput('Edit', { file_path: '/a/b.ts', old_string: 'x' })).toBe('/a/b.ts');
    expect(summarizeToolInput('Grep', { pattern: 'foo', path: 'src' })).toBe('foo in src');
    expect(summarizeToolInput('mcp__x__y', { q: 1 })).toBe('{"q":1}');
    expect(summarizeToolInput('Bash', { command: 'x'.repeat(1000) })).toHaveLength(200);
  });
});

async function startPane(tmux: Tmux, name: string, cwd: string, script: string) {
  await tmux.newSession({ name, cwd, command: ['sh', '-c', script] });
  await until(async () => {
    const p = (await tmux.sessions()).get(name);
    return p?.currentCommand === 'sleep';
  }, `${name} to run sleep`);
}

describe('checkpoint command', () => {
  it('writes a checkpoint for each live session, redacted, and skips the dead ones', async () => {
    const { home, file, tmux, project, projectsDir, config } = await sandbox();
    const id = ID(40);
    const transcript = path.join(projectsDir, `${id}.jsonl`);
    writeFile(
      projectsDir,
      `${id}.jsonl`,
      [
        userLine(id, project, '2026-11-24T10:00:00.000Z', 'fix the login bug'),
        toolUseLine(id, project, '2026-11-24T10:00:02.000Z', 'Bash', {
          command: `npm test -- --token ${TOKEN}`,
        }),
        toolResultLine(id, project, '2026-11-24T10:00:03.000Z'),
        textLine(id, project, '2026-11-24T10:00:04.000Z', `Done. I used ${TOKEN} to log in.`),
        '',
      ].join('\n'),
    );
    // The hooks know ccl-0's conversation; a newer unclaimed transcript must not win.
    touch(path.join(projectsDir, `${ID(41)}.jsonl`), '{}\n', new Date(Date.now() + 60_000));
    writeStatus(project, {
      'ccl-0': { state: 'working', claudeSessionId: id, transcriptPath: transcript },
    });
    writeFile(
      path.join(project, '.agent-queue', 'inbox'),
      'fix-login.md.dispatched',
      JSON.stringify({
        session: 'ccl-0',
        account: 'primary',
        dispatchedAt: '2026-11-24T09:59:00.000Z',
        attempt: 1,
      }),
    );
    await startPane(
      tmux,
      'ccl-0',
      project,
      `for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25; do echo "line $i"; done; echo "export KEY=${TOKEN}"; exec sleep 600`,
    );
    // ccl-1 has no tmux session; ccl-2 is back at a shell.
    await tmux.newSession({ name: 'ccl-2', cwd: project, command: ['bash', '--norc', '-i'] });
    await until(
      async () => (await tmux.sessions()).get('ccl-2')?.currentCommand === 'bash',
      'bash',
    );

    const r = await runCli(['-c', file, 'checkpoint', '--json'], { home });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(r.stdout) as {
      at: string;
      sessions: Array<{ session: string; written: string | null; skipped: string | null }>;
    };
    expect(out.sessions.map((s) => s.session)).toEqual(['ccl-0', 'ccl-1', 'ccl-2']);
    expect(out.sessions[1]).toMatchObject({ written: null, skipped: 'no tmux session' });
    expect(out.sessions[2]).toMatchObject({ written: null });
    expect(out.sessions[2]!.skipped).toMatch(/no agent running \(bash/);
    const written = out.sessions[0]!.written!;
    expect(path.dirname(written)).toBe(path.join(config.stateDir, 'checkpoints', 'ccl-0'));
    expect(path.basename(written)).toBe(checkpointFileName(new Date(out.at)));

    const latestText = fs.readFileSync(latestCheckpointPath(config.stateDir, 'ccl-0'), 'utf8');
    expect(fs.readFileSync(written, 'utf8')).toBe(latestText);
    expect(latestText).not.toContain('PLANTEDsecret');
    expect(fs.statSync(written).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(written)).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(config.stateDir, 'checkpoints')).mode & 0o777).toBe(0o700);

    const cp = readLatestCheckpoint(config.stateDir, 'ccl-0')!;
    expect(cp).toMatchObject({
      session: 'ccl-0',
      account: 'primary',
      cwd: fs.realpathSync(project),
      claudeSessionId: id,
      transcriptPath: transcript,
      transcriptSource: 'hooks',
      task: {
        id: 'fix-login',
        path: path.join(project, '.agent-queue', 'inbox', 'fix-login.md'),
        dispatchedAt: '2026-11-24T09:59:00.000Z',
        attempt: 1,
      },
      lastToolCall: {
        name: 'Bash',
        input: 'npm test -- --token sk-ant-[REDACTED]',
        at: '2026-11-24T10:00:02.000Z',
      },
      lastAssistantText: 'Done. I used sk-ant-[REDACTED] to log in.',
      at: out.at,
    });
    expect(cp.paneTail).toHaveLength(20);
    expect(cp.paneTail.at(-1)).toBe('export KEY=sk-ant-[REDACTED]');
    expect(cp.paneTail[0]).toBe('line 7');

    expect(ctxState(config.stateDir).lastRun.checkpoint).toBe(out.at);
    const ev = readEvents(config.stateDir).filter((e) => e.event === 'checkpoint.written');
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ sessions: ['ccl-0'], level: 'info' });
    expect((ev[0]!.skipped as unknown[]).length).toBe(2);

    // Human output, and an unknown name is a usage error.
    const human = await runCli(['-c', file, 'checkpoint', 'ccl-0', 'ccl-1'], { home });
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toMatch(
      /^ccl-0: .*checkpoints\/ccl-0\/.*\.json\nccl-1: skipped \(no tmux session\)$/,
    );
    expect(listCheckpoints(config.stateDir, 'ccl-0')).toHaveLength(2);
    // A partial run does not reset the periodic clock.
    expect(ctxState(config.stateDir).lastRun.checkpoint).toBe(out.at);
    const bad = await runCli(['-c', file, 'checkpoint', 'ccl-0', 'nope', '--json'], { home });
    expect(bad.exitCode).toBe(2);
    expect(JSON.parse(bad.stdout).error.message).toMatch(/unknown session: nope/);
  });

  it('replaces latest.json atomically: a concurrent reader never sees a partial file', async () => {
    const { tmux, project, ctx, config } = await sandbox();
    const lines = Array.from({ length: 60 }, (_, i) => `echo "${'row'.repeat(20)} ${i}"`).join(';');
    await startPane(tmux, 'ccl-0', project, `${lines}; exec sleep 600`);
    await writeCheckpoints(ctx, ['ccl-0']);
    const latest = latestCheckpointPath(config.stateDir, 'ccl-0');
    const reader = execa(
      process.execPath,
      [
        '-e',
        `const fs = require('fs'); let reads = 0, bad = 0; const end = Date.now() + 1e9;
         process.stdin.on('data', () => { console.log(JSON.stringify({ reads, bad })); process.exit(0); });
         (function loop() { for (let i = 0; i < 200; i++) { try { JSON.parse(fs.readFileSync(${JSON.stringify(latest)}, 'utf8')); reads++; } catch (e) { bad++; } } if (Date.now() < end) setImmediate(loop); })();`,
      ],
      { stdin: 'pipe' },
    );
    const inodes = new Set<number>();
    for (let i = 0; i < 25; i++) {
      await writeCheckpoints(ctx, ['ccl-0']);
      inodes.add(fs.statSync(latest).ino);
    }
    reader.stdin!.end('stop\n');
    const res = JSON.parse(String((await reader).stdout)) as { reads: number; bad: number };
    expect(res.reads).toBeGreaterThan(100);
    expect(res.bad).toBe(0);
    expect(inodes.size).toBeGreaterThan(1); // renamed into place, not rewritten in place
    expect(readLatestCheckpoint(config.stateDir, 'ccl-0')?.paneTail).toHaveLength(20);
  });

  it('exits 1 when a checkpoint cannot be written, and says which', async () => {
    const { home, file, tmux, project, config } = await sandbox();
    await startPane(tmux, 'ccl-0', project, 'echo hi; exec sleep 600');
    // A file where the session's checkpoint directory should be.
    writeFile(path.join(config.stateDir, 'checkpoints'), 'ccl-0', 'in the way');
    const r = await runCli(['-c', file, 'checkpoint', 'ccl-0', '--json'], { home });
    expect(r.exitCode).toBe(1);
    const out = JSON.parse(r.stdout) as { sessions: Array<{ error: string | null }> };
    expect(out.sessions[0]!.error).toMatch(/checkpoints\/ccl-0/);
    const ev = readEvents(config.stateDir).find((e) => e.event === 'checkpoint.written');
    expect(ev?.level).toBe('error');
  });
});

function ctxState(stateDir: string) {
  return JSON.parse(fs.readFileSync(path.join(stateDir, 'state.json'), 'utf8')) as {
    lastRun: Record<string, string>;
  };
}
