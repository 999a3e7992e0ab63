/**
 * A sandbox pool driven by the simulated agent (`bin/sim-agent.js`): temp HOME, two
 * accounts, one project, N sessions on a private tmux socket, and helpers to run the CLI,
 * build an in-process context, and wait for pane text. Everything is cleaned up.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../src/lib/core/config.js';
import { parseConfigText } from '../../src/lib/core/config-parse.js';
import type { Clock } from '../../src/lib/core/clock.js';
import { contextFromConfig, type Context } from '../../src/lib/core/context.js';
import { Output } from '../../src/lib/core/output.js';
import type { Tmux } from '../../src/lib/core/tmux.js';
import { agentPid, ROOT, runCli, tempDir, tmuxSocket, waitFor, type CliResult } from './env.js';

export const SIM_AGENT = path.join(ROOT, 'bin', 'sim-agent.js');

export { agentPid, waitFor };

export interface SimSandbox {
  home: string;
  configFile: string;
  socket: string;
  tmux: Tmux;
  project: string;
  stateDir: string;
  accountDir(name: string): string;
  /** The path of a project: `api` (the default one) or one of `opts.projects`. */
  projectPath(name: string): string;
  /** Runs the built CLI with this sandbox's config. */
  cli(
    args: string[],
    opts?: { env?: Record<string, string | undefined>; input?: string },
  ): Promise<CliResult>;
  /** The parsed config and a context on it (optionally at a fixed clock). */
  config(): Promise<Config>;
  ctx(clock?: Clock): Promise<Context>;
  /** The last lines of a session's pane, joined. */
  pane(session: string, lines?: number): Promise<string>;
  waitForPane(session: string, re: RegExp, ms?: number): Promise<string>;
  /** Makes an account hit (or clear) its limit: every turn of its agents ends with `text`. */
  setLimit(account: string, text: string | null): void;
  /**
   * A task handed out to `session` by hand: `inbox/<id>.md` holding `text`, and its marker
   * (`attempt` 1, dispatched `at`, default now), as `dispatch` would leave them.
   */
  dispatched(id: string, session: string, text: string, at?: Date): string;
}

export interface SimOptions {
  sessions?: string;
  /** Extra YAML appended to the config (top-level keys not already set). */
  extra?: string;
  agentArgs?: string[];
  agentEnv?: Record<string, string>;
  /** Account names, by priority (default: primary, backup). */
  accounts?: string[];
  /** agent.confirmTimeout (default 3s: the simulated agent confirms at once). */
  confirmTimeout?: string;
  /** agent.stopTimeout (default 4s). */
  stopTimeout?: string;
  /** More projects besides `api`, each with its sessions (a name pattern such as `w{0..1}`). */
  projects?: Array<{ name: string; sessions: string }>;
  /**
   * Let the hooks start steps at once (`triggers.enabled`). Off by default: most tests drive
   * each step themselves, as the timer would, and a background run would race them.
   */
  triggers?: boolean;
}

/** Builds the sandbox; run `setup` yourself if the test needs hooks (most do). */
export function simSandbox(opts: SimOptions = {}): SimSandbox {
  const home = tempDir('cf-sim-');
  const { socket, tmux } = tmuxSocket();
  const project = path.join(home, 'src', 'api');
  fs.mkdirSync(project, { recursive: true });
  const stateDir = path.join(home, 'state');
  const projectPath = (name: string) => (name === 'api' ? project : path.join(home, 'src', name));
  for (const p of opts.projects ?? []) fs.mkdirSync(projectPath(p.name), { recursive: true });
  const extraProjects = (opts.projects ?? [])
    .map((p) => `\n  - { name: ${p.name}, path: ${projectPath(p.name)} }`)
    .join('');
  const extraSessions = (opts.projects ?? [])
    .map((p) => `\n  - { name: '${p.sessions}', project: ${p.name} }`)
    .join('');
  const agentEnv = { SIM_START_MS: '150', SIM_TURN_MS: '300', ...opts.agentEnv };
  const yaml = `stateDir: ${home}/state
sharedProjectsDir: ${home}/shared/projects
agent:
  command: ${SIM_AGENT}
  args: ${JSON.stringify(opts.agentArgs ?? ['--dangerously-skip-permissions'])}
  env: ${JSON.stringify(agentEnv)}
  readyTimeout: 10s
  stopTimeout: ${opts.stopTimeout ?? '4s'}
  launchStagger: 100ms
  confirmTimeout: ${opts.confirmTimeout ?? '3s'}
tmux: { socket: ${socket} }
accounts:
${(opts.accounts ?? ['primary', 'backup'])
  .map((a, i) => `  - { name: ${a}, configDir: ${home}/accounts/${a}, priority: ${i + 1} }`)
  .join('\n')}
projects:
  - { name: api, path: ${project} }${extraProjects}
sessions:
  - { name: '${opts.sessions ?? 'ccl-{0..1}'}', project: api }${extraSessions}
lock: { waitFor: 5s, staleAfter: 2s }
triggers: { enabled: ${opts.triggers ?? false} }
${opts.extra ?? ''}`;
  const configFile = path.join(home, 'config.yaml');
  fs.writeFileSync(configFile, yaml);
  const sb: SimSandbox = {
    home,
    configFile,
    socket,
    tmux,
    project,
    stateDir,
    accountDir: (name) => path.join(home, 'accounts', name),
    projectPath,
    cli: (args, o = {}) =>
      runCli(['-c', configFile, ...args], { home, env: o.env, input: o.input }),
    config: () => parseConfigText(yaml, configFile, { env: { ...process.env, HOME: home } }),
    async ctx(clock?: Clock) {
      return contextFromConfig(await sb.config(), {
        clock,
        out: new Output({ quiet: true }),
        env: { ...process.env, HOME: home },
      });
    },
    pane: async (session, lines = 60) => (await tmux.capturePane(session, lines)).join('\n'),
    waitForPane: (session, re, ms) =>
      waitFor(
        async () => {
          const text = await tmux.capturePane(session, 80).then(
            (l) => l.join('\n'),
            () => '',
          );
          return re.test(text) && text;
        },
        `${re} in pane ${session}`,
        ms,
      ),
    dispatched(id, session, text, at = new Date()) {
      const inbox = path.join(project, '.agent-queue', 'inbox');
      fs.mkdirSync(inbox, { recursive: true });
      fs.writeFileSync(path.join(inbox, `${id}.md`), text);
      fs.writeFileSync(
        path.join(inbox, `${id}.md.dispatched`),
        JSON.stringify({ session, account: 'primary', dispatchedAt: at.toISOString(), attempt: 1 }),
      );
      return path.join(inbox, `${id}.md`);
    },
    setLimit(account, text) {
      const file = path.join(sb.accountDir(account), 'sim', 'limit');
      if (text === null) fs.rmSync(file, { force: true });
      else {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, text);
      }
    },
  };
  return sb;
}

/** The argv of a process, from /proc. */
export function processArgs(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** The environment of a process, from /proc. */
export function processEnv(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  try {
    for (const kv of fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
      const i = kv.indexOf('=');
      if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
    }
  } catch {
    // gone
  }
  return out;
}
