/**
 * The config file's zod schema: every key, its type and its default (config.example.yaml
 * documents them). Durations come out as milliseconds and sizes as bytes; config-parse.ts
 * then resolves paths, expands session ranges and checks what spans keys.
 */
import { parseDuration, parseSize } from './units.js';
import * as z from './zod.js';

type Ctx = { issues: unknown[] };

function unitValue(kind: 'duration' | 'size', fallback: string) {
  const parse = kind === 'duration' ? parseDuration : parseSize;
  const example = kind === 'duration' ? '30s, 5m, 2h or 7d' : '512KB or 10MB';
  return z.prefault(
    z.pipe(
      z.union([z.string(), z.number()]),
      z.transform((v: string | number, ctx: Ctx) => {
        const out = parse(v);
        if (out === undefined) {
          ctx.issues.push({
            code: 'custom',
            input: v,
            message: `expected a ${kind} like ${example}, got ${JSON.stringify(v)}`,
          });
          return z.NEVER;
        }
        return out;
      }),
    ),
    fallback,
  );
}
const duration = (fallback: string) => unitValue('duration', fallback);
const size = (fallback: string) => unitValue('size', fallback);

const isRegex = (src: string) => {
  try {
    new RegExp(src, 'iu');
    return true;
  } catch {
    return false;
  }
};
const regexList = z._default(
  z.array(
    z.string().check(
      z.refine(isRegex, {
        error: (iss) => `invalid regular expression ${JSON.stringify(iss.input)}`,
      }),
    ),
  ),
  [],
);

const ACCOUNT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
// tmux forbids '.' and ':' in session names; keep them shell-boring too.
export const SESSION_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const SESSION_PATTERN = /^[A-Za-z0-9{][A-Za-z0-9_{}.-]*$/;

const nonEmpty = () => z.string().check(z.minLength(1, { error: 'expected a non-empty string' }));
const name = () =>
  nonEmpty().check(z.regex(ACCOUNT_NAME, { error: 'expected letters, digits, ".", "_" or "-"' }));
const int = (min: number, fallback: number, max?: number) =>
  z._default(
    max === undefined ? z.int().check(z.gte(min)) : z.int().check(z.gte(min), z.lte(max)),
    fallback,
  );
const bool = (fallback: boolean) => z._default(z.boolean(), fallback);
const str = (fallback: string) => z._default(nonEmpty(), fallback);
const nullableStr = () => z._default(z.nullable(nonEmpty()), null);
const section = <T extends z.ZodMiniType>(schema: T) => z.prefault(schema, {} as z.input<T>);

const accountSchema = z.strictObject({
  name: name(),
  configDir: nonEmpty(),
  priority: z._default(z.int(), 100),
  enabled: bool(true),
});

const projectSchema = z.strictObject({ name: name(), path: nonEmpty() });

const sessionSchema = z.strictObject({
  name: nonEmpty().check(
    z.regex(SESSION_PATTERN, { error: 'expected letters, digits, "_", "-" and {a..b} ranges' }),
  ),
  project: nonEmpty(),
});

const telegramSchema = z.strictObject({
  botToken: z._default(z.string(), ''),
  chatId: z.pipe(z.union([z.string(), z.number()]), z.transform(String)),
  apiBase: z._default(z.url(), 'https://api.telegram.org'),
});

const webhookSchema = z.strictObject({
  url: z.url(),
  headers: z._default(z.record(z.string(), z.string()), {}),
});

const NOTIFY_EVENTS_DEFAULT = [
  'swap.completed',
  'swap.failed',
  'accounts.exhausted',
  'account.auth-error',
  'session.degraded',
  'task.failed',
];

// {cli}, not a bare `claude-failover`: the agent's Bash tool runs in its login shell, whose
// profile may drop the directory that has it from PATH (see renderPrompt).
export const DEFAULT_DISPATCH_PROMPT =
  'Read the task in {taskPath} and carry it out. When it is finished, run: {cli} task done -- {taskId}';
const DEFAULT_WATCH_RESUME_PROMPT =
  'Your session was restarted after it stopped unexpectedly. Continue the task in {taskPath} from where you stopped.';
const DEFAULT_RESUME_PROMPT =
  'You were moved to another account after a usage limit. Continue the task in {taskPath} from where you stopped.';

const percent = (fallback: number) => z._default(z.number().check(z.gte(0), z.lte(100)), fallback);

export const rawConfigSchema = z.strictObject({
  stateDir: str('${XDG_STATE_HOME:-~/.local/state}/claude-failover'),
  sharedProjectsDir: str('~/.claude-shared/projects'),
  activeLink: nullableStr(),
  agent: section(
    z.strictObject({
      command: str('claude'),
      args: z._default(z.array(z.string()), ['--dangerously-skip-permissions']),
      env: z._default(
        z.record(
          z.string(),
          z.pipe(z.union([z.string(), z.number(), z.boolean()]), z.transform(String)),
        ),
        {},
      ),
      readyTimeout: duration('30s'),
      stopTimeout: duration('15s'),
      launchStagger: duration('1s'),
      // How long Claude Code gets to confirm a typed prompt before the next try (3 tries).
      confirmTimeout: duration('5s'),
    }),
  ),
  tmux: section(z.strictObject({ socket: nullableStr() })),
  accounts: z
    .array(accountSchema)
    .check(z.minLength(1, { error: 'expected at least one account' })),
  projects: z._default(z.array(projectSchema), []),
  sessions: z._default(z.array(sessionSchema), []),
  quota: section(
    z.strictObject({
      scanLines: int(1, 40, 10_000),
      confirmPolls: int(1, 2, 10),
      reactivateCooldown: duration('5m'),
      defaultExhaustion: duration('5h'),
      skipIfResetWithin: duration('10m'),
      timezone: nullableStr(),
      patterns: section(
        z.strictObject({
          limit: regexList,
          warning: regexList,
          transient: regexList,
          ignore: regexList,
        }),
      ),
      drainAt: percent(90),
      swapAt: percent(98),
      usageApi: section(
        z.strictObject({
          enabled: bool(false),
          baseUrl: z._default(z.url(), 'https://api.anthropic.com'),
          cacheFor: duration('5m'),
        }),
      ),
    }),
  ),
  dispatch: section(
    z.strictObject({
      prompt: str(DEFAULT_DISPATCH_PROMPT),
      settle: duration('2s'),
      maxAttempts: int(1, 3),
    }),
  ),
  swap: section(
    z.strictObject({
      resumePrompt: str(DEFAULT_RESUME_PROMPT),
      historyMax: int(1, 50),
      launchStagger: duration('50ms'),
    }),
  ),
  checkpoint: section(
    z.strictObject({ interval: duration('5m'), keep: int(1, 20), maxAge: duration('7d') }),
  ),
  janitor: section(
    z.strictObject({
      interval: duration('1h'),
      staleDispatchedAfter: duration('2h'),
      archiveDoneAfter: duration('7d'),
      eventsMaxBytes: size('10MB'),
    }),
  ),
  watch: section(
    z.strictObject({
      restart: bool(true),
      maxRestarts: int(0, 5),
      restartWindow: duration('1h'),
      stuckAfter: duration('30m'),
      resumePrompt: str(DEFAULT_WATCH_RESUME_PROMPT),
    }),
  ),
  lock: section(z.strictObject({ waitFor: duration('10s'), staleAfter: duration('30s') })),
  // The hooks start the matching step at once (README: Triggers); the timer stays the safety net.
  triggers: section(
    z.strictObject({
      enabled: bool(true),
      // StopFailure rate_limit, or the statusline's usage crossing drainAt/swapAt: quota check.
      limit: bool(true),
      // Stop (the agent is idle): dispatch.
      idle: bool(true),
    }),
  ),
  mcp: section(z.strictObject({ register: bool(false), allowWrite: bool(false) })),
  metrics: section(z.strictObject({ textfile: nullableStr() })),
  // `doctor` warns when a filesystem the tool writes to has less free space than this.
  doctor: section(z.strictObject({ minFreeSpace: size('100MB') })),
  notify: section(
    z.strictObject({
      events: z._default(z.array(nonEmpty()), NOTIFY_EVENTS_DEFAULT),
      telegram: z._default(z.nullable(telegramSchema), null),
      webhook: z._default(z.nullable(webhookSchema), null),
      command: z._default(z.nullable(z.array(z.string()).check(z.minLength(1))), null),
    }),
  ),
});

export type RawConfig = z.output<typeof rawConfigSchema>;
