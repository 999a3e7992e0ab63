/**
 * `hook run <event>` and `hook statusline`: what Claude Code calls (installed by `setup`).
 * They read Claude's JSON on stdin, record a signal, and always succeed: a hook must never
 * block or fail the agent. They find their way through the env the session was launched
 * with, never through a config lookup.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ENV_ACCOUNT, ENV_PROJECT, ENV_SESSION, ENV_STATE_DIR } from '../core/env-names.js';
import { appendEvent } from '../core/events.js';
import { readFileIfExists } from '../core/fs-atomic.js';
import { promptFingerprint } from './prompt-fingerprint.js';
import { redact } from '../core/redact.js';
import { runShellCommand } from '../core/shell.js';
import {
  appendSignal,
  readUsage,
  updateAgentStatus,
  writeUsage,
  type AccountUsage,
  type UsageWindow,
} from './signals.js';
import {
  readTriggerSettings,
  requestTrigger,
  triggerOn,
  type TriggerKind,
  type TriggerSettings,
} from '../core/triggers.js';
import { isTaskName, MARKER_SUFFIX, queuePaths } from '../queue/files.js';
import * as z from '../core/zod.js';

const hookInputSchema = z.looseObject({
  session_id: z.optional(z.string()),
  transcript_path: z.optional(z.string()),
  cwd: z.optional(z.string()),
  hook_event_name: z.optional(z.string()),
  source: z.optional(z.string()),
  error: z.optional(z.string()),
  error_details: z.optional(z.string()),
  last_assistant_message: z.optional(z.nullable(z.string())),
  prompt: z.optional(z.nullable(z.string())),
});

const windowSchema = z.looseObject({
  used_percentage: z.number(),
  resets_at: z.optional(z.nullable(z.number())),
});

const statuslineInputSchema = z.looseObject({
  session_id: z.optional(z.string()),
  rate_limits: z.optional(
    z.nullable(
      z.looseObject({
        five_hour: z.optional(z.nullable(windowSchema)),
        seven_day: z.optional(z.nullable(windowSchema)),
      }),
    ),
  ),
});

export interface HookEnv {
  session: string;
  account: string | null;
  stateDir: string;
  project: string | null;
}

/** The launch env of a managed session; null when the agent was not started by us. */
export function hookEnv(env: NodeJS.ProcessEnv = process.env): HookEnv | null {
  const session = env[ENV_SESSION];
  const stateDir = env[ENV_STATE_DIR];
  if (!session || !stateDir) return null;
  return {
    session,
    account: env[ENV_ACCOUNT] || null,
    stateDir,
    project: env[ENV_PROJECT] || null,
  };
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, reason: `stdin is not JSON: ${(err as Error).message}` };
  }
}

const cut = (s: string | null | undefined, n = 500) => (s ? redact(s).slice(0, n) : null);

/**
 * Whether the state asks for this session's idle moment: a swap waiting for one, or a prompt
 * owed to the session (typed, never confirmed; dispatch delivers it again). Read without the
 * schema, for these two fields only; a missing or half-written file just means no.
 */
function stateWantsIdle(stateDir: string, session: string): boolean {
  try {
    const text = readFileIfExists(path.join(stateDir, 'state.json'));
    if (!text) return false;
    const state = JSON.parse(text) as {
      pendingSwap?: unknown;
      sessions?: Record<string, { undelivered?: unknown }>;
    };
    return Boolean(state.pendingSwap || state.sessions?.[session]?.undelivered);
  } catch {
    return false;
  }
}

/** Whether the project's inbox holds a task not handed out yet: names only, no parsing. */
function inboxHasWork(project: string | null): boolean {
  if (!project) return false;
  try {
    const names = new Set(fs.readdirSync(queuePaths(project).inbox));
    return [...names].some((n) => isTaskName(n) && !names.has(`${n}${MARKER_SUFFIX}`));
  } catch {
    return false;
  }
}

/**
 * The step this hook event should start now (README: Triggers): a limit starts `quota
 * check`; the end of a turn starts `dispatch` (and the swap waiting for an idle moment), but
 * only when there is a task to hand out, a prompt owed to the session or a swap waiting, so
 * an idle pool, or an agent between the turns of its task, starts nothing.
 */
function triggerFor(
  event: string,
  error: string | null,
  ctx: HookEnv,
): { kind: TriggerKind; reason: string } | null {
  if (event === 'StopFailure' && error === 'rate_limit')
    return { kind: 'limit', reason: 'StopFailure rate_limit' };
  if (event === 'Stop' && (inboxHasWork(ctx.project) || stateWantsIdle(ctx.stateDir, ctx.session)))
    return { kind: 'idle', reason: 'Stop' };
  return null;
}

/**
 * The usage crossing that starts a limit trigger: a window's percentage reaching
 * `quota.drainAt` or `quota.swapAt` since the last reading (or in a new window).
 */
function usageCrossing(
  prev: AccountUsage | null,
  next: AccountUsage,
  settings: TriggerSettings,
): string | null {
  const windows = [
    ['5h', prev?.fiveHour, next.fiveHour],
    ['7d', prev?.sevenDay, next.sevenDay],
  ] as const;
  for (const [label, before, now] of windows) {
    if (!now) continue;
    for (const [name, at] of [
      ['swapAt', settings.swapAt],
      ['drainAt', settings.drainAt],
    ] as const) {
      const was = before && before.resetsAt === now.resetsAt ? before.usedPercentage : -1;
      if (now.usedPercentage >= at && was < at)
        return `${label} usage ${Math.round(now.usedPercentage)}% >= ${name} ${at}`;
    }
  }
  return null;
}

/** Handles one hook event. Never throws; problems go to the events log as warnings. */
export async function runHook(
  event: string,
  stdin: string,
  env: NodeJS.ProcessEnv = process.env,
  now = new Date(),
): Promise<void> {
  const ctx = hookEnv(env);
  if (!ctx) return;
  try {
    const parsed = parseJson(stdin);
    const input = parsed.ok ? hookInputSchema.safeParse(parsed.value) : null;
    if (!parsed.ok || !input?.success) {
      appendEvent(
        ctx.stateDir,
        'hook.malformed',
        {
          session: ctx.session,
          hook: event,
          reason: parsed.ok ? 'unexpected JSON shape' : parsed.reason,
        },
        { level: 'warn', now },
      );
      return;
    }
    const h = input.data;
    const ts = now.toISOString();
    appendSignal(ctx.stateDir, ctx.session, {
      ts,
      event,
      account: ctx.account,
      claudeSessionId: h.session_id ?? null,
      transcriptPath: h.transcript_path ?? null,
      error: h.error ?? null,
      message: event === 'StopFailure' ? cut(h.last_assistant_message ?? h.error_details) : null,
      source: h.source ?? null,
      // What delivery looks for: Claude Code's own word that this prompt went in.
      ...(event === 'UserPromptSubmit' && h.prompt
        ? { promptHash: promptFingerprint(h.prompt) }
        : {}),
    });
    const state =
      event === 'UserPromptSubmit'
        ? 'working'
        : ['SessionStart', 'Stop', 'StopFailure'].includes(event)
          ? 'idle'
          : null;
    if (state && ctx.project) {
      await updateAgentStatus(
        ctx.project,
        ctx.session,
        (prev) => ({
          state,
          task: prev?.task ?? null,
          claudeSessionId: h.session_id ?? prev?.claudeSessionId ?? null,
          updatedAt: ts,
          account: ctx.account,
          ...(h.transcript_path ? { transcriptPath: h.transcript_path } : {}),
        }),
        { waitFor: 3500 },
      );
    }
    // Last, once the agent's state is recorded: what the triggered step reads.
    const trigger = triggerFor(event, h.error ?? null, ctx);
    if (trigger)
      requestTrigger(
        ctx.stateDir,
        { kind: trigger.kind, at: ts, session: ctx.session, reason: trigger.reason },
        env,
      );
  } catch (err) {
    try {
      appendEvent(
        ctx.stateDir,
        'hook.failed',
        { session: ctx.session, hook: event, reason: (err as Error).message },
        { level: 'warn', now },
      );
    } catch {
      // nowhere left to report; the agent must go on
    }
  }
}

function toWindow(
  w: { used_percentage: number; resets_at?: number | null } | null | undefined,
): UsageWindow | null {
  if (!w) return null;
  return {
    usedPercentage: w.used_percentage,
    resetsAt: typeof w.resets_at === 'number' ? new Date(w.resets_at * 1000).toISOString() : null,
  };
}

export function previousStatuslinePath(stateDir: string, account: string): string {
  return `${stateDir}/statusline/${account}.json`;
}

/**
 * Records the statusline's `rate_limits` as the account's usage and returns the line to
 * print: the user's previous statusline command's output when `setup` kept one, otherwise
 * a short summary.
 */
export async function runStatusline(
  stdin: string,
  env: NodeJS.ProcessEnv = process.env,
  now = new Date(),
): Promise<string> {
  const ctx = hookEnv(env);
  let input: z.output<typeof statuslineInputSchema> | null = null;
  const parsed = parseJson(stdin);
  if (parsed.ok) {
    const r = statuslineInputSchema.safeParse(parsed.value);
    if (r.success) input = r.data;
  }
  if (!ctx) return '';
  try {
    if (!input) {
      appendEvent(
        ctx.stateDir,
        'hook.malformed',
        {
          session: ctx.session,
          hook: 'statusline',
          reason: parsed.ok ? 'unexpected JSON shape' : parsed.reason,
        },
        { level: 'warn', now },
      );
    } else if (input.rate_limits && ctx.account) {
      const usage: AccountUsage = {
        fiveHour: toWindow(input.rate_limits.five_hour),
        sevenDay: toWindow(input.rate_limits.seven_day),
        updatedAt: now.toISOString(),
        session: ctx.session,
      };
      const settings = readTriggerSettings(ctx.stateDir);
      const crossing = triggerOn(settings, 'limit')
        ? usageCrossing(readUsage(ctx.stateDir, ctx.account), usage, settings!)
        : null;
      writeUsage(ctx.stateDir, ctx.account, usage);
      if (crossing)
        requestTrigger(
          ctx.stateDir,
          { kind: 'limit', at: usage.updatedAt, session: ctx.session, reason: crossing },
          env,
        );
    }
    if (ctx.account) {
      const prev = readFileIfExists(previousStatuslinePath(ctx.stateDir, ctx.account));
      const command = prev ? (JSON.parse(prev) as { command?: string }).command : undefined;
      if (command)
        return (await runShellCommand(command, stdin, { env, timeoutMs: 2000 })).replace(
          /\n+$/,
          '',
        );
    }
  } catch (err) {
    try {
      appendEvent(
        ctx.stateDir,
        'hook.failed',
        { session: ctx.session, hook: 'statusline', reason: (err as Error).message },
        { level: 'warn', now },
      );
    } catch {
      // ignore
    }
  }
  const pct = (w: { used_percentage: number } | null | undefined) =>
    w ? `${Math.round(w.used_percentage)}%` : '-';
  const rl = input?.rate_limits;
  return `${ctx.account ?? '?'} · ${ctx.session} · 5h ${pct(rl?.five_hour)} · 7d ${pct(rl?.seven_day)}`;
}

/** Reads all of stdin (empty when it is a TTY). */
export async function readStdin(stream: NodeJS.ReadStream = process.stdin): Promise<string> {
  if (stream.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
