/**
 * `demo`: the main job in a throwaway sandbox, narrated. It needs no login and no network:
 * the agents are the simulated Claude Code shipped with the package (bin/sim-agent.js),
 * on a private tmux server, with two accounts. It queues tasks, runs `tick` cycles that
 * dispatch them, makes the active account hit its usage limit, and shows the swap and the
 * resumed sessions finishing their work on the backup account.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfigText } from '../core/config-parse.js';
import { readEvents } from '../core/events.js';
import { contextFromConfig, type Context } from '../core/context.js';
import { Output } from '../core/output.js';
import { packageFile } from '../core/package-root.js';
import { queuePaths } from '../queue/files.js';
import { processAlive } from '../claude/registry.js';

export interface DemoOptions {
  keep?: boolean;
  /** Narration, one plain sentence per step. */
  say: (text: string) => void;
  /** Progress inside a step (a spinner on a TTY). */
  progress?: (text: string) => void;
  /** Where to build the sandbox (default: a new temp dir). */
  dir?: string;
  /** Give up after this long (default 60 s). */
  deadlineMs?: number;
}

export interface DemoResult {
  sandbox: string;
  socket: string;
  configFile: string;
  kept: boolean;
  tasksDone: number;
  tasksQueued: number;
  swap: { from: string | null; to: string | null; durationMs: number; sessions: string[] } | null;
  statusText: string;
  durationMs: number;
}

const SESSIONS = ['demo-0', 'demo-1', 'demo-2'];
const TASKS: Array<[string, string]> = [
  ['01-readme', 'Write the README introduction.'],
  ['02-tests', 'Add unit tests for the parser.'],
  ['03-lint', 'Fix the lint warnings in src/.'],
  ['04-docs', 'Document the config keys.'],
  ['05-bench', 'Add a benchmark for the scanner.'],
  ['06-release', 'Draft the release notes.'],
];

/** A clock-only reset text three hours ahead, in UTC, as Claude Code prints it. */
function resetText(now: Date): string {
  const d = new Date(now.getTime() + 3 * 3_600_000);
  const h = d.getUTCHours();
  const m = String(d.getUTCMinutes()).padStart(2, '0');
  return `resets ${h % 12 || 12}:${m}${h >= 12 ? 'pm' : 'am'} (UTC)`;
}

function demoConfig(root: string, socket: string): string {
  const agent = packageFile('bin', 'sim-agent.js');
  return `# The demo sandbox: two accounts, one project, three simulated agents.
stateDir: ${JSON.stringify(path.join(root, 'state'))}
sharedProjectsDir: ${JSON.stringify(path.join(root, 'shared', 'projects'))}
agent:
  command: ${JSON.stringify(agent)}
  args: ['--dangerously-skip-permissions']
  env: { SIM_START_MS: '300', SIM_TURN_MS: '600' }
  readyTimeout: 15s
  stopTimeout: 4s
  launchStagger: 200ms
tmux: { socket: ${JSON.stringify(socket)} }
accounts:
  - { name: primary, configDir: ${JSON.stringify(path.join(root, 'accounts', 'primary'))}, priority: 1 }
  - { name: backup, configDir: ${JSON.stringify(path.join(root, 'accounts', 'backup'))}, priority: 2 }
projects:
  - { name: demo, path: ${JSON.stringify(path.join(root, 'project'))} }
sessions:
  - { name: 'demo-{0..2}', project: demo }
# The demo runs each step itself to narrate it; in a real pool the hooks start them at once.
triggers: { enabled: false }
quota: { reactivateCooldown: 5m }
dispatch: { settle: 0s }
lock: { waitFor: 10s, staleAfter: 5s }
notify: { events: [] }
`;
}

function countDone(project: string): number {
  try {
    return fs.readdirSync(queuePaths(project).done).filter((n) => n.endsWith('.md')).length;
  } catch {
    return 0;
  }
}

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const t0 = Date.now();
  const deadline = t0 + (opts.deadlineMs ?? 60_000);
  const say = opts.say;
  const progress = opts.progress ?? (() => undefined);
  const root = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'claude-failover-demo-'));
  const socket = `cf-demo-${process.pid}`;
  const configFile = path.join(root, 'config.yaml');
  const project = path.join(root, 'project');
  fs.mkdirSync(project, { recursive: true });
  fs.writeFileSync(configFile, demoConfig(root, socket), { mode: 0o600 });
  const config = await parseConfigText(fs.readFileSync(configFile, 'utf8'), configFile);
  // The demo's own environment: its agents must not inherit a real pool's settings.
  const env = { ...process.env, CLAUDE_FAILOVER_CONFIG: configFile };
  const ctx: Context = contextFromConfig(config, { out: new Output({ quiet: true }), env });
  let kept = false;

  const waitUntil = async (what: string, fn: () => Promise<boolean> | boolean) => {
    while (!(await fn())) {
      if (Date.now() > deadline) throw new Error(`the demo ran out of time waiting for ${what}`);
      await sleep(250);
    }
  };
  const tick = async () => {
    const { runTick } = await import('../schedule/tick.js');
    return runTick(ctx);
  };

  try {
    say(
      `1. Built a sandbox in ${root}: a private tmux server (-L ${socket}), two accounts (primary, backup) and three simulated Claude Code agents.`,
    );
    const { runSetup } = await import('./setup.js');
    runSetup(config, 'primary');
    const { startSessions } = await import('../agents/session-control.js');
    progress('starting the agents');
    await startSessions(ctx, [], progress);
    say(
      `   Started ${SESSIONS.join(', ')} on the primary account; each runs in the project directory with CLAUDE_CONFIG_DIR of primary.`,
    );

    const { addTask } = await import('../tasks/add.js');
    const queue = async (batch: Array<[string, string]>) => {
      for (const [id, title] of batch) {
        const text = `# ${title}\n\nsim-work: 1500ms\nsim-say: ${title.replace(/\.$/, '')}: done.\n`;
        await addTask(ctx, 'demo', Buffer.from(text), { id });
      }
    };
    const first = TASKS.slice(0, 3);
    const second = TASKS.slice(3);
    await queue(first);
    say(`2. Queued ${first.length} tasks in ${path.join(project, '.agent-queue', 'inbox')}.`);

    say(
      '3. Running tick cycles (watch, quota check, dispatch, checkpoint, janitor): idle agents get tasks and finish them.',
    );
    progress('dispatching');
    await waitUntil('the first tasks to finish', async () => {
      await tick();
      return countDone(project) >= first.length;
    });
    say(`   ${countDone(project)} tasks done on the primary account.`);

    const now = new Date();
    const limit = `You've hit your session limit · ${resetText(now)}`;
    fs.mkdirSync(path.join(config.accounts[0]!.configDir, 'sim'), { recursive: true });
    fs.writeFileSync(path.join(config.accounts[0]!.configDir, 'sim', 'limit'), limit);
    await queue(second);
    say(
      `4. The primary account hits its usage limit: ${second.length} new tasks go out, and each agent answers "${limit}".`,
    );

    progress('waiting for the limit to show');
    let swapped: DemoResult['swap'] = null;
    await waitUntil('the swap', async () => {
      const r = await tick();
      const st = ctx.state.read();
      if (st.lastSwap && st.lastSwap.outcome === 'completed') {
        swapped = {
          from: st.lastSwap.from,
          to: st.lastSwap.to,
          durationMs: st.lastSwap.durationMs,
          sessions: st.lastSwap.sessions,
        };
        return true;
      }
      return r.exitCode === 3;
    });
    const s = swapped as DemoResult['swap'];
    if (s) {
      const trigger = ctx.state.read().lastSwap?.trigger;
      const done = readEvents(config.stateDir)
        .reverse()
        .find((e) => e.event === 'swap.completed');
      const prompted = (
        (done?.sessions ?? []) as Array<{ name: string; task: string | null; prompted: boolean }>
      )
        .filter((x) => x.prompted)
        .map((x) => `${x.name} (task ${x.task})`);
      say(
        `5. quota check confirmed the limit (${trigger?.pattern ?? 'hook'} on ${trigger?.session ?? '?'}) and swapped ${s.from} -> ${s.to} in ${(s.durationMs / 1000).toFixed(1)}s: ` +
          `${s.sessions.join(', ')} were stopped, relinked to the backup account and relaunched with --resume <same id>. ` +
          (prompted.length
            ? `Told to continue their task: ${prompted.join(', ')}.`
            : 'No task was in flight, so nothing needed a re-prompt.'),
      );
    }
    progress('finishing the tasks on the backup account');
    await waitUntil('the queue to drain', async () => {
      await tick();
      return countDone(project) >= TASKS.length;
    });
    say(`   All ${TASKS.length} tasks are done, the last ones on the backup account.`);

    const { buildStatus } = await import('./status.js');
    const { renderStatus } = await import('./status-render.js');
    const statusText = await renderStatus(await buildStatus(ctx), new Output({ color: false }));
    say('6. The status at the end:');
    if (opts.keep) {
      kept = true;
    }
    return {
      sandbox: root,
      socket,
      configFile,
      kept,
      tasksDone: countDone(project),
      tasksQueued: TASKS.length,
      swap: s,
      statusText,
      durationMs: Date.now() - t0,
    };
  } finally {
    if (!opts.keep) await removeSandbox(ctx, root);
  }
}

/**
 * Stops the sandbox's agents and removes it. The agents (and the hooks they started) still
 * write their transcripts and state as they exit, so it waits for them to be gone and lets
 * `rmSync` retry a directory that filled up again while it was being emptied.
 */
async function removeSandbox(ctx: Context, root: string): Promise<void> {
  const pids = (await ctx.tmux.listPanes().catch(() => []))
    .map((p) => p.pid)
    .filter((pid): pid is number => pid !== null);
  await ctx.tmux.killServer().catch(() => undefined);
  for (let i = 0; i < 50 && pids.some((pid) => processAlive(pid)); i++) await sleep(100);
  fs.rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}
