/**
 * End to end with the real Claude Code CLI (the pinned devDependency, or the version
 * CLAUDE_CODE_E2E_VERSION names: see claude-install.ts) in tmux against the
 * loopback fake Anthropic API: `setup`, `session start/stop`, `--resume`, the hooks, the
 * statusline, the limit and retry screens, and the env hygiene of the launch.
 *
 * The tests share one sandbox and run in order (each builds on the previous state), like an
 * operator's day: start, work, stop, resume, hit a limit, move to the backup account.
 *
 * With UPDATE_REAL_CLAUDE_FIXTURES=1 the pane captures are (re)written to
 * test/fixtures/real-claude/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inputBoxText, NO_CONVERSATION_RE, readScreen } from '../../src/lib/agents/screens.js';
import { deliverPrompt } from '../helpers/type-prompt.js';
import { readSignals, updateAgentStatus } from '../../src/lib/claude/signals.js';
import { StateStore } from '../../src/lib/core/state.js';
import { ROOT, tmuxSocket } from '../helpers/env.js';
import {
  accountUsage,
  agentStatus,
  CLAUDE_BIN,
  CLAUDE_PINNED,
  CLAUDE_VERSION,
  claudeEnv,
  closeRealSandboxes,
  createRealSandbox,
  generateRealTranscript,
  lineText,
  paneText,
  prepareAccountDir,
  promptAndWait,
  readTranscript,
  waitFor,
  waitForPane,
  waitForPrompt,
  waitForSignal,
  waitForStablePane,
  type RealSandbox,
} from '../helpers/real-claude.js';

// The pinned version's captures are the ones the classifier tests read; another version's go
// to a subdir of their own (test/fixtures/real-claude/<version>/).
const FIXTURES = path.join(
  ROOT,
  'test',
  'fixtures',
  'real-claude',
  ...(CLAUDE_PINNED ? [] : [CLAUDE_VERSION]),
);
const UPDATE = process.env.UPDATE_REAL_CLAUDE_FIXTURES === '1';

// A reset 1h44m-2h44m ahead, on minute :44, so the TUI's clock text is predictable.
const RESET_EPOCH = Math.floor(Date.now() / 3_600_000) * 3600 + 3 * 3600 + 44 * 60 - 3600;
const SEVEN_DAY_RESET = RESET_EPOCH + 4 * 86_400;

/** How Claude Code prints a reset time with TZ=UTC: `4:44pm`. */
function clockText(epoch: number): string {
  const d = new Date(epoch * 1000);
  const h = d.getUTCHours();
  return `${((h + 11) % 12) + 1}:${String(d.getUTCMinutes()).padStart(2, '0')}${h < 12 ? 'am' : 'pm'}`;
}

let sb: RealSandbox;

/** Saves a pane capture as a fixture (only with UPDATE_REAL_CLAUDE_FIXTURES=1). */
function fixture(name: string, text: string, meta: Record<string, unknown>): void {
  if (!UPDATE) return;
  fs.mkdirSync(FIXTURES, { recursive: true });
  const clean = text.split(sb.home).join('/home/user').split('\n').join('\n');
  fs.writeFileSync(path.join(FIXTURES, `${name}.txt`), `${clean}\n`);
  const indexFile = path.join(FIXTURES, 'index.json');
  const index = fs.existsSync(indexFile)
    ? (JSON.parse(fs.readFileSync(indexFile, 'utf8')) as Record<string, unknown>)
    : {};
  index[name] = {
    file: `${name}.txt`,
    claudeVersion: CLAUDE_VERSION,
    capturedAt: new Date().toISOString(),
    tz: 'UTC',
    paneSize: '200x50',
    ...meta,
  };
  const sorted = Object.fromEntries(Object.entries(index).sort(([a], [b]) => a.localeCompare(b)));
  fs.writeFileSync(indexFile, `${JSON.stringify(sorted, null, 2)}\n`);
}

const lastLines = async (session: string, n = 40) => sb.tmux.capturePane(session, n);

beforeAll(async () => {
  sb = await createRealSandbox({
    accounts: ['primary', 'backup'],
    sessions: ['rc-1', 'rc-2', 'rc-3'],
    apiOptions: {
      fiveHourUtilization: 0.42,
      sevenDayUtilization: 0.17,
      fiveHourResetEpoch: RESET_EPOCH,
      sevenDayResetEpoch: SEVEN_DAY_RESET,
    },
  });
  const r = await sb.cli(['setup']);
  expect(r.exitCode, r.stderr).toBe(0);
});

afterAll(async () => {
  // Kills the tmux server, waits for the agents to exit, removes the sandbox.
  await closeRealSandboxes();
});

describe.sequential(`the real Claude Code CLI ${CLAUDE_VERSION}`, () => {
  let claudeId = '';
  let transcript = '';

  it('starts at its prompt from `session start`, even from a Claude Code child shell', async () => {
    // The first `session start` starts the tmux server, so the server's global env holds what
    // this process had: a Claude Code child session's markers, which turn transcripts off.
    const r = await sb.cli(['session', 'start', 'rc-1'], {
      CLAUDE_CODE_CHILD_SESSION: '1',
      CLAUDECODE: '1',
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('rc-1: started on primary');
    expect(await sb.tmux.run(['show-environment', '-g'])).toContain('CLAUDE_CODE_CHILD_SESSION=1');

    const start = await waitForSignal(sb.stateDir, 'rc-1', (s) => s.event === 'SessionStart', {
      timeoutMs: 40_000,
    });
    expect(start).toMatchObject({ account: 'primary', source: 'startup' });
    expect(start.claudeSessionId).toMatch(/^[0-9a-f-]{36}$/);
    claudeId = start.claudeSessionId!;
    transcript = start.transcriptPath!;
    expect(transcript).toBe(
      path.join(
        sb.accounts[0]!.configDir,
        'projects',
        path.basename(sb.transcriptDir),
        `${claudeId}.jsonl`,
      ),
    );
    // The hook appends its signal first, then updates status.json under its lock.
    await waitFor(
      () => agentStatus(sb.project, 'rc-1')?.claudeSessionId === claudeId,
      'status.json',
    );
    expect(agentStatus(sb.project, 'rc-1')).toMatchObject({
      state: 'idle',
      claudeSessionId: claudeId,
      transcriptPath: transcript,
      account: 'primary',
    });

    await waitForPrompt(sb.tmux, 'rc-1');
    await waitForPane(sb.tmux, 'rc-1', '⏵⏵ bypass permissions on (shift+tab to cycle)');
    const screen = await waitForStablePane(sb.tmux, 'rc-1');
    expect(screen).toContain(`Claude Code v${CLAUDE_VERSION}`);
    expect(screen).toContain('Claude Max');
    expect(readScreen(await lastLines('rc-1'))).toBe('ready');
    expect(inputBoxText(await lastLines('rc-1'))).toBe('');
    fixture('ready-prompt', screen, {
      what: 'a fresh session at its idle prompt, with our statusline',
      expect: { readScreen: 'ready', verdict: 'none' },
    });
    // Nothing at start-up: no network, no API call.
    expect(sb.api.requests).toEqual([]);
    // Our launch removed the markers: the agent's own environment has neither.
    const pid = (await sb.tmux.sessions()).get('rc-1')!.pid!;
    const agentEnv = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    expect(agentEnv.filter((v) => /^(CLAUDECODE|CLAUDE_CODE_CHILD_SESSION)=/.test(v))).toEqual([]);
    expect(agentEnv).toContain('CLAUDE_FAILOVER_SESSION=rc-1');
  });

  it('records a turn: UserPromptSubmit then Stop, the answer, the transcript and the usage', async () => {
    const signals = await promptAndWait(sb, 'rc-1', 'first prompt from the harness');
    expect(signals.map((s) => s.event)).toEqual(['UserPromptSubmit', 'Stop']);
    const screen = await waitForPane(sb.tmux, 'rc-1', '● ECHO: first prompt from the harness');
    expect(screen).not.toContain('Transcript saving is off');
    await waitFor(
      () => agentStatus(sb.project, 'rc-1')?.state === 'idle',
      'rc-1 idle in status.json',
    );

    // The request carried the account's token; the TUI talks to our fake only.
    const reqs = sb.api.messageRequests();
    expect(reqs.length).toBeGreaterThanOrEqual(1);
    expect(reqs.every((q) => q.token === sb.accounts[0]!.token)).toBe(true);
    expect(reqs[0]!.url).toBe('/v1/messages?beta=true');
    expect(reqs[0]!.body).toMatchObject({ stream: true });

    // The transcript is in the shared tree (through the account's projects/ symlink).
    expect(fs.realpathSync(transcript)).toBe(path.join(sb.transcriptDir, `${claudeId}.jsonl`));
    const lines = await waitFor(() => {
      const l = readTranscript(transcript);
      return l.some((x) => x.type === 'assistant') && l;
    }, 'the assistant line in the transcript');
    expect(
      lines.some((l) => l.type === 'user' && lineText(l) === 'first prompt from the harness'),
    ).toBe(true);
    expect(
      lines.some(
        (l) => l.type === 'assistant' && lineText(l) === 'ECHO: first prompt from the harness',
      ),
    ).toBe(true);
    expect(new Set(lines.map((l) => l.sessionId).filter(Boolean))).toEqual(new Set([claudeId]));

    // The statusline turned the fractional headers into percentages for our usage file.
    const usage = await waitFor(() => accountUsage(sb.stateDir, 'primary'), 'usage/primary.json');
    expect(usage).toMatchObject({
      fiveHour: { usedPercentage: 42, resetsAt: new Date(RESET_EPOCH * 1000).toISOString() },
      sevenDay: { usedPercentage: 17, resetsAt: new Date(SEVEN_DAY_RESET * 1000).toISOString() },
      session: 'rc-1',
    });
    await waitForPane(sb.tmux, 'rc-1', 'primary · rc-1 · 5h 42% · 7d 17%', 10_000);
  });

  it('control: the marker turns transcripts off when it reaches the agent (2.1.328 ignores it when it only sits in the tmux server env)', async () => {
    const files = () => fs.readdirSync(sb.transcriptDir).filter((f) => f.endsWith('.jsonl'));
    const before = files();
    const base = { ...claudeEnv(sb.api.url), CLAUDE_CONFIG_DIR: sb.accounts[1]!.configDir };
    // `raw-session`: the marker set on the session itself, as an inheriting launcher would,
    // on a clean tmux server. `raw-ambient`: no hygiene, the marker only in this server's
    // global env (rc-1 still runs, so this is the server the first `session start` began):
    // 2.1.328 asks tmux, finds it there, calls it ambient and saves anyway.
    const clean = tmuxSocket().tmux;
    await clean.newSession({
      name: 'raw-session',
      cwd: sb.project,
      env: { ...base, CLAUDE_CODE_CHILD_SESSION: '1' },
      command: [CLAUDE_BIN, '--dangerously-skip-permissions'],
    });
    await sb.tmux.newSession({
      name: 'raw-ambient',
      cwd: sb.project,
      env: base,
      command: [CLAUDE_BIN, '--dangerously-skip-permissions'],
    });
    const servers = { 'raw-session': clean, 'raw-ambient': sb.tmux };
    for (const [name, tmux] of Object.entries(servers)) {
      await waitForPrompt(tmux, name);
      expect(await deliverPrompt(tmux, name, `words from ${name}`)).toBe(true);
      await waitForPane(tmux, name, `● ECHO: words from ${name}`);
    }
    const off =
      '⚠ Transcript saving is off — inherited CLAUDE_CODE_CHILD_SESSION marker · restart with CLAUDE_CODE_FORCE_SESSION_PERSISTENCE=1 to keep future transcripts';
    expect(await paneText(clean, 'raw-session')).toContain(off);
    expect(await paneText(sb.tmux, 'raw-ambient')).not.toContain(off);
    // Exactly one new transcript: raw-ambient's.
    const added = await waitFor(() => {
      const now = files().filter((f) => !before.includes(f));
      return now.length > 0 && now;
    }, 'the ambient session transcript');
    await new Promise((res) => setTimeout(res, 500));
    expect(files().filter((f) => !before.includes(f))).toEqual(added);
    expect(added).toHaveLength(1);
    expect(fs.readFileSync(path.join(sb.transcriptDir, added[0]!), 'utf8')).toContain(
      'words from raw-ambient',
    );
    await clean.killServer();
    await sb.tmux.killSession('raw-ambient');
    for (const f of added) fs.renameSync(path.join(sb.transcriptDir, f), path.join(sb.home, f));
  });

  it('stops gracefully and resumes the same conversation with --resume', async () => {
    const before = readTranscript(transcript).length;
    let r = await sb.cli(['session', 'stop', 'rc-1']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('rc-1: stopped (graceful)');
    expect(await sb.tmux.hasSession('rc-1')).toBe(false);

    const since = new Date().toISOString();
    r = await sb.cli(['session', 'start', 'rc-1']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`started on primary with --resume ${claudeId}`);
    const start = await waitForSignal(sb.stateDir, 'rc-1', (s) => s.event === 'SessionStart', {
      since,
      timeoutMs: 40_000,
    });
    expect(start).toMatchObject({ source: 'resume', claudeSessionId: claudeId });
    // The resumed TUI shows the old conversation.
    await waitForPane(sb.tmux, 'rc-1', 'ECHO: first prompt from the harness');
    await waitForPrompt(sb.tmux, 'rc-1');

    await promptAndWait(sb, 'rc-1', 'second prompt after resume');
    await waitForPane(sb.tmux, 'rc-1', '● ECHO: second prompt after resume');
    const lines = await waitFor(() => {
      const l = readTranscript(transcript);
      return l.some((x) => lineText(x) === 'ECHO: second prompt after resume') && l;
    }, 'the resumed turn in the same transcript');
    expect(lines.length).toBeGreaterThan(before);
    expect(fs.readdirSync(sb.transcriptDir).filter((f) => f.endsWith('.jsonl'))).toEqual([
      `${claudeId}.jsonl`,
    ]);
  });

  it('shows the working spinner while an answer streams', async () => {
    sb.api.setEventDelay(700);
    try {
      const since = new Date().toISOString();
      expect(await deliverPrompt(sb.tmux, 'rc-1', 'a slow answer please')).toBe(true);
      // The spinner row: a cycling glyph and a random verb (`· Pondering…`); after a
      // moment it adds `(2s · ↓ 12 tokens)`.
      await waitForPane(sb.tmux, 'rc-1', /esc to interrupt/);
      const screen = await waitForPane(sb.tmux, 'rc-1', /^\S \S+… \(\d+s · /mu);
      expect(readScreen(await lastLines('rc-1'))).toBe('working');
      fixture('working', screen, {
        what: 'a turn in progress: the spinner row and "esc to interrupt" in the footer',
        expect: { readScreen: 'working', verdict: 'none' },
      });
      await waitForSignal(sb.stateDir, 'rc-1', (s) => s.event === 'Stop', { since });
      await waitForPane(sb.tmux, 'rc-1', '● ECHO: a slow answer please');
    } finally {
      sb.api.setEventDelay(5);
    }
  });

  it('shows the usage-limit screen on a 429 and fires StopFailure rate_limit', async () => {
    sb.setMode('primary', 'limit');
    const signals = await promptAndWait(sb, 'rc-1', 'this one hits the limit');
    const failure = signals.find((s) => s.event === 'StopFailure');
    expect(failure).toMatchObject({ error: 'rate_limit', account: 'primary' });
    const limitLine = `You've hit your 5-hour limit · resets ${clockText(RESET_EPOCH)} (UTC)`;
    expect(failure!.message).toContain(limitLine);

    // Claude Code's own automatic continue: 2.1.328 says `Usage limit reached · continuing
    // automatically at 4:44pm · esc to cancel`; 2.1.332 says `● Usage limit reached · set to
    // continue automatically at 4:44pm`, and `Continuing automatically at 4:44pm · Esc to
    // cancel` under the footer's warning.
    const at = clockText(RESET_EPOCH);
    const auto = new RegExp(
      `Usage limit reached · (continuing automatically at ${at} · esc to cancel|set to continue automatically at ${at})`,
    );
    const screen = await waitForPane(sb.tmux, 'rc-1', auto);
    // `⎿`, a space and a no-break space, then the message.
    expect(screen).toContain(`⎿ \u00a0${limitLine}`);
    expect(screen).toContain(`⚠ Usage limit reached · limit resets ${at}`);
    await waitFor(
      () => agentStatus(sb.project, 'rc-1')?.state === 'idle',
      'rc-1 idle in status.json',
    );
    fixture('limit-429', screen, {
      what: '429 rate_limit_error with anthropic-ratelimit-unified-status: rejected (5-hour window); auto-continue armed',
      resetsAt: new Date(RESET_EPOCH * 1000).toISOString(),
      expect: {
        verdict: 'limit',
        kind: 'session',
        resetsAt: new Date(RESET_EPOCH * 1000).toISOString(),
      },
    });
    // The plan hint shows only once the automatic continue is cancelled (Esc).
    await sb.tmux.sendKeys('rc-1', ['Escape']);
    // 2.1.328: `… to re-arm`; 2.1.332: `… to wait again`.
    const cancelled = await waitForPane(
      sb.tmux,
      'rc-1',
      /Automatic continue cancelled · \/rate-limit-options to (re-arm|wait again)/,
    );
    expect(cancelled).toContain('/upgrade to increase your usage limit.');
    fixture('limit-429-cancelled', cancelled, {
      what: 'the same limit screen after Esc cancelled the automatic continue',
      resetsAt: new Date(RESET_EPOCH * 1000).toISOString(),
      expect: {
        verdict: 'limit',
        kind: 'session',
        resetsAt: new Date(RESET_EPOCH * 1000).toISOString(),
      },
    });

    // The transcript records the rejection as a synthetic assistant line.
    const errLine = await waitFor(
      () => readTranscript(transcript).find((l) => l.isApiErrorMessage === true),
      'the API error line in the transcript',
    );
    expect(errLine).toMatchObject({ type: 'assistant', apiErrorStatus: 429, error: 'rate_limit' });
    expect(lineText(errLine)).toContain(limitLine);
    expect(sb.api.messageRequests(sb.accounts[0]!.token).at(-1)!.status).toBe(429);
  });

  it('resumes the limited conversation on the backup account through the shared tree', async () => {
    // What a swap does, by hand: make backup the active account, restart, resume.
    sb.setMode('backup', 'ok');
    await new StateStore(sb.stateDir, { waitFor: 5000, staleAfter: 10_000 }).update((st) => {
      st.activeAccount = 'backup';
    });
    const since = new Date().toISOString();
    const r = await sb.cli(['session', 'restart', 'rc-1']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`rc-1: started on backup with --resume ${claudeId}`);
    const start = await waitForSignal(sb.stateDir, 'rc-1', (s) => s.event === 'SessionStart', {
      since,
      timeoutMs: 40_000,
    });
    expect(start).toMatchObject({ source: 'resume', claudeSessionId: claudeId, account: 'backup' });
    expect(start.transcriptPath).toBe(
      path.join(
        sb.accounts[1]!.configDir,
        'projects',
        path.basename(sb.transcriptDir),
        `${claudeId}.jsonl`,
      ),
    );
    await waitForPrompt(sb.tmux, 'rc-1');
    await promptAndWait(sb, 'rc-1', 'continue on backup');
    await waitForPane(sb.tmux, 'rc-1', '● ECHO: continue on backup');
    expect(sb.api.messageRequests(sb.accounts[1]!.token).at(-1)!.status).toBe(200);
    await waitFor(
      () => readTranscript(transcript).some((l) => lineText(l) === 'ECHO: continue on backup'),
      'the backup turn in the same transcript',
    );
    await waitFor(() => accountUsage(sb.stateDir, 'backup'), 'usage/backup.json');
  });

  it('shows the retry row for a 500 that mentions "rate limit", and no rate_limit StopFailure', async () => {
    sb.setMode('backup', 'error500-ratelimit');
    let r = await sb.cli(['session', 'start', 'rc-2']);
    expect(r.exitCode, r.stderr).toBe(0);
    await waitForSignal(sb.stateDir, 'rc-2', (s) => s.event === 'SessionStart', {
      timeoutMs: 40_000,
    });
    await waitForPrompt(sb.tmux, 'rc-2');
    const since = new Date().toISOString();
    expect(await deliverPrompt(sb.tmux, 'rc-2', 'this one meets a flaky server')).toBe(true);
    const screen = await waitForPane(
      sb.tmux,
      'rc-2',
      /500 Internal server error: upstream rate limit exceeded · retrying in \d+s · attempt [4-9]\/10/,
      40_000,
    );
    expect(readScreen(await lastLines('rc-2'))).toBe('working');
    fixture('retry-500', screen, {
      what: '500 api_error whose message says "rate limit": Claude Code retries it (transient)',
      expect: { verdict: 'transient' },
    });
    // Still retrying a few seconds later, and never a quota signal.
    await new Promise((res) => setTimeout(res, 4000));
    const sigs = readSignals(sb.stateDir, 'rc-2', since);
    expect(sigs.map((s) => s.event)).toEqual(['UserPromptSubmit']);
    await waitFor(
      () => agentStatus(sb.project, 'rc-2')?.state === 'working',
      'rc-2 working in status.json',
    );

    // 529 overloaded, for the classifier too.
    sb.setMode('backup', 'overloaded529');
    const s529 = await waitForPane(
      sb.tmux,
      'rc-2',
      /529 Overloaded · retrying in \d+s · attempt \d+\/10/,
      40_000,
    );
    fixture('retry-529', s529, {
      what: '529 overloaded_error after a run of 500s: Claude Code retries it (transient)',
      expect: { verdict: 'transient' },
    });
    expect(readSignals(sb.stateDir, 'rc-2', since).some((s) => s.event === 'StopFailure')).toBe(
      false,
    );
    sb.setMode('backup', 'ok');
    r = await sb.cli(['session', 'stop', 'rc-2']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('rc-2: stopped (graceful)');
  });

  it('dies with "No conversation found" when the id to resume has no transcript', async () => {
    const missing = '11111111-2222-4333-8444-555555555555';
    const setMissing = () =>
      updateAgentStatus(sb.project, 'rc-3', () => ({
        state: 'idle',
        task: null,
        claudeSessionId: missing,
        updatedAt: new Date().toISOString(),
      }));
    // Our own launch checks first: an id whose transcript is not reachable is not passed to
    // --resume; the session starts fresh and an event says so.
    await setMissing();
    const r = await sb.cli(['session', 'start', 'rc-3']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/rc-3: started on backup$/m);
    expect(r.stdout).not.toContain('--resume');
    await sb.tmux.killSession('rc-3');

    // Claude Code's own answer to such a --resume, launched by hand as an old script would.
    await setMissing();
    const backup = sb.accounts.find((a) => a.name === 'backup')!;
    await sb.tmux.newSession({
      name: 'rc-3',
      cwd: sb.project,
      env: { ...claudeEnv(sb.api.url), CLAUDE_CONFIG_DIR: backup.configDir },
      command: [CLAUDE_BIN, '--dangerously-skip-permissions', '--resume', missing],
      remainOnExit: true,
    });
    // The pane is kept (remain-on-exit) so its last words can be read. tmux 3.3a marks the
    // pane dead at once but may not collect the exit status (nor write its "Pane is dead"
    // line) until its next SIGCHLD, seen to take 20 s+: `run-shell true` gives it one.
    await waitFor(async () => (await sb.tmux.sessions()).get('rc-3')?.dead, 'rc-3 to exit', 20_000);
    await sb.tmux.run(['run-shell', 'true']);
    const pane = await waitFor(
      async () => {
        const p = (await sb.tmux.sessions()).get('rc-3');
        return p?.deadStatus !== null && p;
      },
      'the exit status',
      10_000,
    );
    expect(pane.deadStatus).toBe(1);
    // The hard case for a reader of the last 40 lines: the message on row 1, tmux's line on
    // row 50, blank rows between.
    await waitForPane(sb.tmux, 'rc-3', 'Pane is dead (status 1', 10_000);
    const text = await paneText(sb.tmux, 'rc-3');
    expect(text).toContain(`No conversation found with session ID: ${missing}`);
    expect(NO_CONVERSATION_RE.exec(text)?.[1]).toBe(missing);
    fixture('resume-missing-id', text, {
      what: '`claude --resume <id>` when no transcript holds that id; the process exits',
      exitStatus: 1,
      expect: { readScreen: 'dead' },
    });
    const list = JSON.parse((await sb.cli(['session', 'list', 'rc-3', '--json'])).stdout) as {
      sessions: Array<{ state: string }>;
    };
    expect(list.sessions[0]!.state).toBe('dead');

    // `watch` sees why it died and starts a fresh conversation instead of looping.
    const since = new Date().toISOString();
    const w = await sb.cli(['watch']);
    expect(w.exitCode, w.stderr).toBe(0);
    const fresh = await waitForSignal(sb.stateDir, 'rc-3', (s) => s.event === 'SessionStart', {
      since,
      timeoutMs: 40_000,
    }).catch(async (err: Error) => {
      throw new Error(
        `${err.message}\nwatch: ${w.stdout}\npane: ${await paneText(sb.tmux, 'rc-3').catch(String)}\nevents: ${fs.readFileSync(path.join(sb.stateDir, 'events.jsonl'), 'utf8')}`,
      );
    });
    expect(fresh.source).toBe('startup');
    expect(fresh.claudeSessionId).not.toBe(missing);
    const events = fs
      .readFileSync(path.join(sb.stateDir, 'events.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.some((e) => e.event === 'session.resume-missing')).toBe(true);
    // Seen in the dead pane itself (message on row 1, "Pane is dead" on row 50), so the
    // relaunch was fresh at once, not a second doomed --resume.
    expect(events.filter((e) => e.event === 'session.restarted' && e.session === 'rc-3')).toEqual([
      expect.objectContaining({ resume: null, fresh: true }),
    ]);
    await sb.cli(['session', 'stop', 'rc-3']);
  });

  it('without credentials: no login screen at start, "Not logged in" on the first prompt', async () => {
    const dir = path.join(sb.home, 'accounts', 'nocreds');
    prepareAccountDir(dir, 'nocreds', { trust: [sb.project], credentials: false });
    fs.writeFileSync(
      path.join(dir, 'settings.json'),
      '{"skipDangerousModePermissionPrompt": true}',
    );
    await sb.tmux.newSession({
      name: 'nocreds',
      cwd: sb.project,
      env: { ...claudeEnv(sb.api.url), CLAUDE_CONFIG_DIR: dir },
      unsetEnv: ['CLAUDE_CODE_CHILD_SESSION', 'CLAUDECODE'],
      command: [CLAUDE_BIN, '--dangerously-skip-permissions'],
    });
    const start = await waitForPrompt(sb.tmux, 'nocreds');
    expect(start).toContain('API Usage Billing');
    expect(await deliverPrompt(sb.tmux, 'nocreds', 'hello?')).toBe(true);
    const screen = await waitForPane(sb.tmux, 'nocreds', 'Not logged in · Please run /login');
    // The message sits at the top of a mostly blank 50-row screen, 44 rows above the bottom:
    // capturePane counts only lines with text, so the last 40 of them still hold it.
    expect(readScreen(await lastLines('nocreds'))).toBe('login');
    fixture('not-logged-in', screen, {
      what: 'no .credentials.json and no token: the banner says API Usage Billing, the first prompt fails',
      expect: { readScreen: 'login' },
    });
    expect(sb.api.requests.filter((q) => q.token === null)).toEqual([]);
  });
});

describe(`generateRealTranscript (Claude Code ${CLAUDE_VERSION})`, () => {
  it('runs a conversation with a Bash tool call and returns its transcript', async () => {
    const t = await generateRealTranscript();
    expect(path.basename(t.transcriptPath)).toBe(`${t.sessionId}.jsonl`);
    const toolUse = t.lines.find(
      (l) =>
        l.type === 'assistant' &&
        Array.isArray(l.message?.content) &&
        (l.message!.content as Array<{ type: string; name?: string }>).some(
          (b) => b.type === 'tool_use' && b.name === 'Bash',
        ),
    );
    expect(toolUse).toBeDefined();
    const result = t.lines.find(
      (l) =>
        l.type === 'user' &&
        Array.isArray(l.message?.content) &&
        (l.message!.content as Array<{ type: string }>).some((b) => b.type === 'tool_result'),
    );
    expect(result).toBeDefined();
    expect(JSON.stringify(result)).toContain('hi');
    expect(t.lines.some((l) => lineText(l) === 'TOOL RESULT: hi')).toBe(true);
  });
});
