/**
 * A harness for end-to-end tests with the real Claude Code CLI (the `@anthropic-ai/claude-code`
 * devDependency, a native binary) in tmux, talking to the loopback fake API of fake-api.ts.
 *
 * A sandbox holds everything under one temp dir: a config whose `agent.command` is the real
 * `claude`, a private tmux socket, account config dirs that start straight at the prompt
 * (onboarding done, project trusted, a fake Max-plan OAuth credential per account), and the
 * env that points Claude Code at the fake API. `settings.json` is left to our `setup`.
 *
 *   afterAll(closeRealSandboxes);
 *   const sb = await createRealSandbox({ sessions: ['rc-1'] });
 *   await sb.cli(['setup']);
 *   await sb.cli(['session', 'start', 'rc-1']);
 *   await waitForPane(sb.tmux, 'rc-1', PROMPT_READY_RE);
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readAgentStatus, type AgentStatusEntry } from '../../src/lib/queue/status-file.js';
import { deliverPrompt } from './type-prompt.js';
import {
  readSignals,
  readUsage,
  type AccountUsage,
  type Signal,
} from '../../src/lib/claude/signals.js';
import type { Tmux } from '../../src/lib/core/tmux.js';
import { encodeProjectDir } from '../../src/lib/claude/transcript-path.js';
import { resolveClaude } from './claude-install.js';
import {
  killTmuxAndWait,
  runCli,
  tempDir,
  tmuxSocket,
  waitFor,
  writeConfig,
  type CliResult,
} from './env.js';

export { waitFor };
import { startFakeApi, type FakeApi, type FakeApiOptions } from './fake-api.js';

const claude = resolveClaude({ log: (l) => process.stderr.write(`${l}\n`) });
/**
 * The real CLI (a native ELF binary, so it runs whatever Node is installed): the pinned
 * devDependency, or the version `CLAUDE_CODE_E2E_VERSION` names, installed into the cache.
 */
export const CLAUDE_BIN = claude.bin;
/** What `claude --version` of CLAUDE_BIN says (`2.1.328`): put it in test names. */
export const CLAUDE_VERSION = claude.version ?? 'unavailable';
/** Whether CLAUDE_BIN is the pinned devDependency (the fixtures were made with it). */
export const CLAUDE_PINNED = claude.pinned;
// Every file that runs the real CLI says which one (the test names carry the version too).
process.stderr.write(
  `real Claude Code ${CLAUDE_VERSION} (${claude.pinned ? 'the pinned devDependency' : 'CLAUDE_CODE_E2E_VERSION'}): ${CLAUDE_BIN}\n`,
);

/** The idle input line: `❯` then a space (NBSP in some builds), nothing typed. */
export const PROMPT_READY_RE = /^❯[\s\u00a0]*$/m;
/** The footer Claude Code shows with `--dangerously-skip-permissions`. */
export const BYPASS_FOOTER = '⏵⏵ bypass permissions on';

/** The fake OAuth access token of an account: the fake API keys its modes on it. */
export function fakeToken(account: string): string {
  return `sk-ant-oat01-${account}`;
}

/**
 * Env for every Claude Code session: the fake API, no telemetry or other traffic, and, when
 * the tests run as root (CI does), `IS_SANDBOX=1`: Claude Code 2.1.328 refuses
 * `--dangerously-skip-permissions` as root outside a sandbox ("cannot be used with root/sudo
 * privileges for security reasons", exit 1).
 */
export function claudeEnv(apiUrl: string): Record<string, string> {
  return {
    ANTHROPIC_BASE_URL: apiUrl,
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    DISABLE_AUTOUPDATER: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    ...(process.getuid?.() === 0 ? { IS_SANDBOX: '1' } : {}),
  };
}

export interface AccountDirOptions {
  /** Working dirs to mark trusted (the trust dialog would block an unattended pane). */
  trust: string[];
  /** Write `.credentials.json` (default true); false shows the login screen. */
  credentials?: boolean;
  /** Access-token expiry, ms epoch (default 30 days ahead). */
  expiresAt?: number;
}

/**
 * Prepares one account's config dir for the real CLI: `.claude.json` with onboarding done and
 * the dirs trusted (merged into what is there: Claude Code rewrites the file as it runs), and
 * a mode-0600 `.credentials.json` for a Claude Max subscriber whose bearer token is
 * `fakeToken(account)`.
 */
export function prepareAccountDir(
  configDir: string,
  account: string,
  opts: AccountDirOptions,
): void {
  fs.mkdirSync(configDir, { recursive: true, mode: 0o700 });
  const stateFile = path.join(configDir, '.claude.json');
  let state: { projects?: Record<string, Record<string, unknown>> } & Record<string, unknown> = {};
  if (fs.existsSync(stateFile)) state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  state.hasCompletedOnboarding = true;
  state.projects ??= {};
  for (const dir of opts.trust) {
    state.projects[dir] = { ...state.projects[dir], hasTrustDialogAccepted: true };
  }
  fs.writeFileSync(stateFile, JSON.stringify(state, null, 2));
  const cred = path.join(configDir, '.credentials.json');
  if (opts.credentials === false) {
    fs.rmSync(cred, { force: true });
    return;
  }
  const token = fakeToken(account);
  fs.writeFileSync(
    cred,
    JSON.stringify({
      claudeAiOauth: {
        accessToken: token,
        refreshToken: `sk-ant-ort01-${account}`,
        expiresAt: opts.expiresAt ?? Date.now() + 30 * 86_400_000,
        scopes: ['user:inference', 'user:profile'],
        subscriptionType: 'max',
      },
    }),
    { mode: 0o600 },
  );
  fs.chmodSync(cred, 0o600);
}

export interface RealSandboxOptions {
  /** Account names, in priority order (default `primary`, `backup`). */
  accounts?: string[];
  /** Session names, all on the one project (default `rc-1`). */
  sessions?: string[];
  /** A fake API to use; by default one is started (and closed after the file). */
  api?: FakeApi;
  apiOptions?: FakeApiOptions;
  /** Extra `agent.env` entries. */
  agentEnv?: Record<string, string>;
  /** Extra top-level YAML appended to the config. */
  extraYaml?: string;
  /** Write credentials for the accounts (default true). */
  credentials?: boolean;
  /** Let the hooks start steps at once (default off). */
  triggers?: boolean;
}

export interface RealSandbox {
  home: string;
  configPath: string;
  stateDir: string;
  sharedProjectsDir: string;
  /** The project dir (real path) every session works in. */
  project: string;
  /** `<sharedProjectsDir>/<encoded project>`: where the transcripts land. */
  transcriptDir: string;
  accounts: Array<{ name: string; configDir: string; token: string }>;
  sessions: string[];
  socket: string;
  tmux: Tmux;
  api: FakeApi;
  /** Runs the built CLI with this sandbox's config (`-c`), as cron would. */
  cli(args: string[], env?: Record<string, string | undefined>): Promise<CliResult>;
  /** Sets the fake API mode of an account. */
  setMode(account: string, mode: Parameters<FakeApi['setMode']>[1]): void;
}

const closeAfter: FakeApi[] = [];
const made: Array<{ home: string; tmux: Tmux }> = [];

/** The config YAML of a real-Claude sandbox. */
export function realClaudeConfigYaml(o: {
  home: string;
  socket: string;
  project: string;
  accounts: Array<{ name: string; configDir: string }>;
  sessions: string[];
  env: Record<string, string>;
  extraYaml?: string;
  /** `triggers.enabled` (default off: the tests drive each step, as the timer would). */
  triggers?: boolean;
}): string {
  const q = (s: string) => JSON.stringify(s);
  const env = Object.entries(o.env)
    .map(([k, v]) => `    ${k}: ${q(v)}`)
    .join('\n');
  return `stateDir: ${q(path.join(o.home, 'state'))}
sharedProjectsDir: ${q(path.join(o.home, 'shared', 'projects'))}
agent:
  command: ${q(CLAUDE_BIN)}
  args: ["--dangerously-skip-permissions"]
  readyTimeout: 40s
  stopTimeout: 10s
  launchStagger: 500ms
  env:
${env}
tmux: { socket: ${q(o.socket)} }
accounts:
${o.accounts.map((a, i) => `  - { name: ${a.name}, configDir: ${q(a.configDir)}, priority: ${i + 1} }`).join('\n')}
projects:
  - { name: app, path: ${q(o.project)} }
sessions:
${o.sessions.map((s) => `  - { name: ${s}, project: app }`).join('\n')}
lock: { waitFor: 5s, staleAfter: 10s }
triggers: { enabled: ${o.triggers ?? false} }
${o.extraYaml ?? ''}`;
}

/**
 * Builds a sandbox: temp home, project, account dirs, fake API, private tmux socket and the
 * config. Everything is removed (and the tmux server killed) after the test file.
 */
export async function createRealSandbox(opts: RealSandboxOptions = {}): Promise<RealSandbox> {
  // realpath: Claude Code keys trust and the projects/ dir on the resolved cwd.
  const home = fs.realpathSync(tempDir('cf-real-'));
  const project = path.join(home, 'src', 'app');
  fs.mkdirSync(project, { recursive: true });
  let api = opts.api;
  if (!api) {
    api = await startFakeApi(opts.apiOptions);
    closeAfter.push(api);
  }
  const { socket, tmux } = tmuxSocket();
  const accounts = (opts.accounts ?? ['primary', 'backup']).map((name) => ({
    name,
    configDir: path.join(home, 'accounts', name),
    token: fakeToken(name),
  }));
  for (const a of accounts)
    prepareAccountDir(a.configDir, a.name, { trust: [project], credentials: opts.credentials });
  const sessions = opts.sessions ?? ['rc-1'];
  const yaml = realClaudeConfigYaml({
    home,
    socket,
    project,
    accounts,
    sessions,
    env: { ...claudeEnv(api.url), ...opts.agentEnv },
    extraYaml: opts.extraYaml,
    triggers: opts.triggers,
  });
  const configPath = writeConfig(home, yaml);
  const sharedProjectsDir = path.join(home, 'shared', 'projects');
  const fakeApi = api;
  made.push({ home, tmux });
  return {
    home,
    configPath,
    stateDir: path.join(home, 'state'),
    sharedProjectsDir,
    project,
    transcriptDir: path.join(sharedProjectsDir, encodeProjectDir(project)),
    accounts,
    sessions,
    socket,
    tmux,
    api: fakeApi,
    cli: (args, env) => runCli(['-c', configPath, ...args], { home, env }),
    setMode: (account, mode) => fakeApi.setMode(fakeToken(account), mode),
  };
}

/**
 * Kills the sandboxes' tmux servers (and so their agents), closes the fake APIs that
 * createRealSandbox started and removes the sandbox dirs. Call it from the test file's own
 * `afterAll`: the cleanup that env.ts registers is not run when its first use is inside a
 * `beforeAll`.
 */
export async function closeRealSandboxes(): Promise<void> {
  for (const { home, tmux } of made.splice(0)) {
    await killTmuxAndWait(tmux);
    try {
      fs.rmSync(home, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
    } catch (err) {
      process.stderr.write(`cleanup: ${(err as Error).message}\n`);
    }
  }
  for (const api of closeAfter.splice(0)) await api.close();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The whole visible pane plus history, ANSI stripped, as one string. */
export async function paneText(tmux: Tmux, session: string, lines = 200): Promise<string> {
  return (await tmux.capturePane(session, lines)).join('\n');
}

/**
 * Waits until the pane shows `match` (a substring or a regex) and returns the pane text. The
 * timeout error carries the last screen, which is what you need to see when it fails.
 */
export async function waitForPane(
  tmux: Tmux,
  session: string,
  match: string | RegExp,
  timeoutMs = 30_000,
): Promise<string> {
  let text = '';
  try {
    return await waitFor(
      async () => {
        text = await paneText(tmux, session);
        return (typeof match === 'string' ? text.includes(match) : match.test(text)) && text;
      },
      `pane ${session} to show ${String(match)}`,
      timeoutMs,
      250,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- last screen ---\n${text}\n---`);
  }
}

/**
 * Waits until the pane stops changing for `quietMs` (the TUI draws its banner and footer in
 * steps, and animates its spinner) and returns the settled text. For fixtures.
 */
export async function waitForStablePane(
  tmux: Tmux,
  session: string,
  quietMs = 800,
  timeoutMs = 15_000,
): Promise<string> {
  let prev = await paneText(tmux, session);
  let since = Date.now();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await sleep(200);
    const now = await paneText(tmux, session);
    if (now !== prev) {
      prev = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return now;
  }
  return prev;
}

/** Waits until the agent's input box is empty and no turn is running: ready for a prompt. */
export async function waitForPrompt(
  tmux: Tmux,
  session: string,
  timeoutMs = 40_000,
): Promise<string> {
  return waitForPane(tmux, session, PROMPT_READY_RE, timeoutMs);
}

/** Waits for the first signal of `session` matching `pred`, among those after `since`. */
export async function waitForSignal(
  stateDir: string,
  session: string,
  pred: (s: Signal) => boolean,
  opts: { since?: string | null; timeoutMs?: number } = {},
): Promise<Signal> {
  return waitFor(
    () => readSignals(stateDir, session, opts.since ?? null).find(pred),
    `a signal of ${session}`,
    opts.timeoutMs ?? 30_000,
  );
}

/** The hook-kept `status.json` entry of a session. */
export function agentStatus(project: string, session: string): AgentStatusEntry | undefined {
  return readAgentStatus(project).sessions[session];
}

/** The statusline usage recorded for an account. */
export function accountUsage(stateDir: string, account: string): AccountUsage | null {
  return readUsage(stateDir, account);
}

export type TranscriptLine = Record<string, unknown> & {
  type?: string;
  sessionId?: string;
  message?: { role?: string; content?: unknown };
};

/** Parses a transcript file (skipping a torn last line). */
export function readTranscript(file: string): TranscriptLine[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as TranscriptLine];
      } catch {
        return [];
      }
    });
}

/** The plain text of a transcript line's message (string content or text blocks). */
export function lineText(line: TranscriptLine): string {
  const c = line.message?.content;
  if (typeof c === 'string') return c;
  if (Array.isArray(c))
    return (c as Array<Record<string, unknown>>)
      .map((b) => (typeof b.text === 'string' ? b.text : ''))
      .join('');
  return '';
}

/**
 * Types a prompt with our own `deliverPrompt` and waits for the turn to end (a `Stop` or
 * `StopFailure` signal after the prompt). Returns the signals of the turn.
 */
export async function promptAndWait(
  sb: Pick<RealSandbox, 'tmux' | 'stateDir'>,
  session: string,
  text: string,
  timeoutMs = 40_000,
): Promise<Signal[]> {
  const since = new Date(Date.now() - 1).toISOString();
  const delivered = await deliverPrompt(sb.tmux, session, text);
  if (!delivered) throw new Error(`prompt never left the input box of ${session}`);
  await waitForSignal(
    sb.stateDir,
    session,
    (s) => s.event === 'Stop' || s.event === 'StopFailure',
    {
      since,
      timeoutMs,
    },
  );
  return readSignals(sb.stateDir, session, since);
}

export interface GeneratedTranscript {
  /** The transcript file: in the sandbox, removed by closeRealSandboxes(), unless `keepIn` is set. */
  transcriptPath: string;
  sessionId: string;
  lines: TranscriptLine[];
  /** The requests the CLI sent to the fake API. */
  requests: FakeApi['requests'];
}

/**
 * Runs the real CLI through a short conversation, `ECHO` answer then a `Bash echo hi` tool call
 * and its result, and returns the transcript it wrote. For catching transcript format drift:
 * feed the result to a transcript reader and compare with what it expects.
 *
 * Takes ~10-20 s. `prompts` are sent one after the other; the fake API answers the first with
 * a text echo and the others with the tool round trip.
 */
export async function generateRealTranscript(
  opts: { prompts?: string[]; keepIn?: string } = {},
): Promise<GeneratedTranscript> {
  const prompts = opts.prompts ?? ['say hello', 'run echo hi'];
  const session = 'gen-1';
  const sb = await createRealSandbox({ accounts: ['gen'], sessions: [session] });
  try {
    let r = await sb.cli(['setup']);
    if (r.exitCode !== 0) throw new Error(`setup failed: ${r.stderr}`);
    r = await sb.cli(['session', 'start', session]);
    if (r.exitCode !== 0) throw new Error(`session start failed: ${r.stderr}`);
    const start = await waitForSignal(sb.stateDir, session, (s) => s.event === 'SessionStart', {
      timeoutMs: 40_000,
    });
    await waitForPrompt(sb.tmux, session);
    for (const [i, p] of prompts.entries()) {
      sb.setMode('gen', i === 0 ? 'ok' : 'tool');
      await promptAndWait(sb, session, p);
      await waitForPrompt(sb.tmux, session);
    }
    const transcriptPath = start.transcriptPath!;
    // The transcript is written asynchronously; wait until the last answer is in it.
    await waitFor(
      () =>
        fs.existsSync(transcriptPath) &&
        readTranscript(transcriptPath).some((l) => lineText(l).startsWith('TOOL RESULT:')),
      'the transcript to hold the tool round trip',
      15_000,
    );
    await sb.cli(['session', 'stop', session]);
    let out = transcriptPath;
    if (opts.keepIn) {
      fs.mkdirSync(opts.keepIn, { recursive: true });
      out = path.join(opts.keepIn, path.basename(transcriptPath));
      fs.copyFileSync(transcriptPath, out);
    }
    return {
      transcriptPath: out,
      sessionId: start.claudeSessionId!,
      lines: readTranscript(out),
      requests: sb.api.requests,
    };
  } finally {
    await sb.tmux.killServer();
  }
}

/** Whether the real CLI can run here (the binary runs `--version` and this is Linux). */
export function realClaudeAvailable(): boolean {
  return claude.version !== null && os.platform() === 'linux';
}
