/**
 * The config: its zod schema (SPEC section 3), the lookup order and loading.
 * Durations come out as milliseconds, sizes as bytes, paths absolute, session ranges expanded.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, UsageError } from './errors.js';
import { importCjs } from './interop.js';
import { expandEnvDeep, expandHome, expandRanges } from './expand.js';
import { parseDuration, parseSize } from './units.js';
import * as z from './zod.js';
import { formatKeyPath, issueText, type ZodIssue } from './zod.js';

export const CONFIG_MODULE = 'claude-failover';
export const CONFIG_SEARCH_PLACES = [
  'package.json',
  `.${CONFIG_MODULE}rc`,
  `.${CONFIG_MODULE}rc.yaml`,
  `.${CONFIG_MODULE}rc.yml`,
  `.${CONFIG_MODULE}rc.json`,
  `${CONFIG_MODULE}.config.yaml`,
  `${CONFIG_MODULE}.config.yml`,
  `${CONFIG_MODULE}.config.json`,
];

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
const SESSION_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
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

export const NOTIFY_EVENTS_DEFAULT = [
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
export const DEFAULT_WATCH_RESUME_PROMPT =
  'Your session was restarted after it stopped unexpectedly. Continue the task in {taskPath} from where you stopped.';
export const DEFAULT_RESUME_PROMPT =
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
      launchStagger: duration('150ms'),
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
  notify: section(
    z.strictObject({
      events: z._default(z.array(nonEmpty()), NOTIFY_EVENTS_DEFAULT),
      telegram: z._default(z.nullable(telegramSchema), null),
      webhook: z._default(z.nullable(webhookSchema), null),
      command: z._default(z.nullable(z.array(z.string()).check(z.minLength(1))), null),
    }),
  ),
});

type RawConfig = z.output<typeof rawConfigSchema>;

export interface SessionConfig {
  name: string;
  project: string;
  projectPath: string;
}

export type Config = Omit<RawConfig, 'sessions'> & {
  sessions: SessionConfig[];
  /** Absolute path of the file the config came from; null for built-in defaults (demo). */
  file: string | null;
  /** The env variables referenced by the file but unset (names only, never values). */
  missingEnv: string[];
};

/** Displays a config path relative to the cwd when that is shorter. */
function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && rel.length < file.length ? rel : file;
}

/** Turns zod issues into one ConfigError: the first issue on the line, the rest as a hint. */
export function configErrorFromIssues(file: string, issues: readonly ZodIssue[]): ConfigError {
  const lines = issues.map((i) => {
    const key = formatKeyPath(i.path);
    return `${key || '(top level)'}: ${issueText(i)}`;
  });
  const more = lines.length > 1 ? ` (and ${lines.length - 1} more)` : '';
  return new ConfigError(
    `${displayPath(file)}: ${lines[0]}${more}`,
    lines.length > 1 ? lines.slice(1).join('\n') : undefined,
  );
}

function resolvePath(p: string, baseDir: string): string {
  return path.resolve(baseDir, expandHome(p));
}

/**
 * Validates a parsed config object. `file` names the source in errors, `baseDir` anchors
 * relative paths. Throws ConfigError naming the file and key path.
 */
export function parseConfig(
  raw: unknown,
  file: string,
  opts: { env?: NodeJS.ProcessEnv; baseDir?: string } = {},
): Config {
  const env = opts.env ?? process.env;
  const missing = new Set<string>();
  const expanded = expandEnvDeep(raw ?? {}, env, (name) => missing.add(name));
  const result = rawConfigSchema.safeParse(expanded);
  if (!result.success) throw configErrorFromIssues(file, result.error.issues);
  const cfg = result.data;
  const baseDir = opts.baseDir ?? path.dirname(file);
  const issues: ZodIssue[] = [];
  const issue = (p: PropertyKey[], message: string) =>
    issues.push({ code: 'custom', path: p, message, input: undefined } as ZodIssue);

  // Defaults like `${XDG_STATE_HOME:-~/.local/state}` are expanded after parsing.
  const stateDir = expandEnvDeep(cfg.stateDir, env) as string;

  const seenAccounts = new Map<string, number>();
  cfg.accounts.forEach((a, i) => {
    if (seenAccounts.has(a.name)) {
      issue(
        ['accounts', i, 'name'],
        `duplicate account name '${a.name}' (also accounts[${seenAccounts.get(a.name)}])`,
      );
    } else seenAccounts.set(a.name, i);
    a.configDir = resolvePath(a.configDir, baseDir);
  });
  const seenDirs = new Map<string, number>();
  cfg.accounts.forEach((a, i) => {
    if (seenDirs.has(a.configDir)) {
      issue(
        ['accounts', i, 'configDir'],
        `same configDir as accounts[${seenDirs.get(a.configDir)}]`,
      );
    } else seenDirs.set(a.configDir, i);
  });

  const projects = new Map<string, string>();
  cfg.projects.forEach((p, i) => {
    p.path = resolvePath(p.path, baseDir);
    if (projects.has(p.name)) issue(['projects', i, 'name'], `duplicate project name '${p.name}'`);
    else projects.set(p.name, p.path);
  });

  const sessions: SessionConfig[] = [];
  const seenSessions = new Map<string, number>();
  cfg.sessions.forEach((s, i) => {
    let names: string[];
    try {
      names = expandRanges(s.name);
    } catch (err) {
      issue(['sessions', i, 'name'], (err as Error).message);
      return;
    }
    const projectPath = projects.get(s.project);
    if (projectPath === undefined) {
      const known = [...projects.keys()];
      issue(
        ['sessions', i, 'project'],
        `unknown project '${s.project}'${known.length ? ` (known: ${known.join(', ')})` : ' (no projects are configured)'}`,
      );
    }
    for (const name of names) {
      if (!SESSION_NAME.test(name)) {
        issue(['sessions', i, 'name'], `'${name}' is not a valid tmux session name`);
        continue;
      }
      if (seenSessions.has(name)) {
        issue(
          ['sessions', i, 'name'],
          `duplicate session name '${name}' (also sessions[${seenSessions.get(name)}])`,
        );
        continue;
      }
      seenSessions.set(name, i);
      sessions.push({ name, project: s.project, projectPath: projectPath ?? '' });
    }
  });

  if (cfg.quota.drainAt > cfg.quota.swapAt) {
    issue(['quota', 'drainAt'], `must not be above quota.swapAt (${cfg.quota.swapAt})`);
  }
  if (issues.length) throw configErrorFromIssues(file, issues);

  return {
    ...cfg,
    stateDir: resolvePath(stateDir, baseDir),
    sharedProjectsDir: resolvePath(cfg.sharedProjectsDir, baseDir),
    activeLink: cfg.activeLink === null ? null : resolvePath(cfg.activeLink, baseDir),
    sessions,
    file,
    missingEnv: [...missing].sort(),
  };
}

/** Parses YAML text into a config, mapping YAML syntax errors to ConfigError. */
export async function parseConfigText(
  text: string,
  file: string,
  opts: { env?: NodeJS.ProcessEnv } = {},
): Promise<Config> {
  const { parse } = await importCjs(() => import('yaml'));
  let raw: unknown;
  try {
    raw = file.endsWith('.json') ? JSON.parse(text) : parse(text, { prettyErrors: true });
  } catch (err) {
    const msg = (err as Error).message.split('\n')[0];
    throw new ConfigError(`${displayPath(file)}: not valid YAML: ${msg}`);
  }
  return parseConfig(raw, file, opts);
}

export interface ConfigLookup {
  /** `--config` */
  explicit?: string | undefined;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Where the lookup would look, in order; for error messages and `doctor`. */
export function configCandidates(opts: ConfigLookup): string[] {
  const env = opts.env ?? process.env;
  const xdg = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return [
    '--config',
    '$CLAUDE_FAILOVER_CONFIG',
    `cosmiconfig '${CONFIG_MODULE}' from ${opts.cwd ?? process.cwd()}`,
    path.join(xdg, CONFIG_MODULE, 'config.yaml'),
  ];
}

/** Finds the config file by SPEC section 3's lookup order; null when there is none. */
export async function findConfigFile(opts: ConfigLookup): Promise<string | null> {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  if (opts.explicit) {
    const file = path.resolve(cwd, expandHome(opts.explicit));
    if (!fs.existsSync(file)) throw new ConfigError(`${opts.explicit}: config file not found`);
    return file;
  }
  if (env.CLAUDE_FAILOVER_CONFIG) {
    const file = path.resolve(cwd, expandHome(env.CLAUDE_FAILOVER_CONFIG));
    if (!fs.existsSync(file)) {
      throw new ConfigError(
        `${env.CLAUDE_FAILOVER_CONFIG}: config file not found (from $CLAUDE_FAILOVER_CONFIG)`,
      );
    }
    return file;
  }
  const found = await searchWithCosmiconfig(cwd);
  if (found) return found;
  const xdgFile = configCandidates(opts)[3]!;
  return fs.existsSync(xdgFile) ? xdgFile : null;
}

async function searchWithCosmiconfig(cwd: string): Promise<string | null> {
  // Loaded only here: most runs name their config with --config or the env var.
  const { cosmiconfig } = await importCjs(() => import('cosmiconfig'));
  const { parse } = await importCjs(() => import('yaml'));
  const yamlLoader = (_file: string, content: string) => parse(content);
  const explorer = cosmiconfig(CONFIG_MODULE, {
    searchPlaces: CONFIG_SEARCH_PLACES,
    searchStrategy: 'project',
    loaders: { '.yaml': yamlLoader, '.yml': yamlLoader, noExt: yamlLoader },
    cache: false,
  });
  try {
    const result = await explorer.search(cwd);
    return result && !result.isEmpty ? result.filepath : null;
  } catch (err) {
    const e = err as Error & { filepath?: string };
    throw new ConfigError(`${e.filepath ?? 'config'}: ${e.message.split('\n')[0]}`);
  }
}

/** Loads and validates the config; throws ConfigError (exit 2) saying where it looked. */
export async function loadConfig(opts: ConfigLookup = {}): Promise<Config> {
  const file = await findConfigFile(opts);
  if (!file) {
    throw new ConfigError(
      `no config file found; looked at: ${configCandidates(opts).join(', ')}`,
      "run 'claude-failover init' to write a starter config",
    );
  }
  if (path.basename(file) === 'package.json') {
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    return parseConfig(pkg[CONFIG_MODULE], `${file}#${CONFIG_MODULE}`, {
      env: opts.env,
      baseDir: path.dirname(file),
    });
  }
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `${file}: cannot read config: ${(err as NodeJS.ErrnoException).code ?? err}`,
    );
  }
  return parseConfigText(text, file, { env: opts.env });
}

/** The default location `init` writes to. */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return path.join(xdg, CONFIG_MODULE, 'config.yaml');
}

/** A configured account by name; an unknown name is a usage error naming it. */
export function accountByName(
  cfg: Pick<Config, 'accounts'>,
  name: string,
): Config['accounts'][number] {
  const a = cfg.accounts.find((x) => x.name === name);
  if (!a) {
    throw new UsageError(
      `unknown account '${name}'`,
      `configured: ${cfg.accounts.map((x) => x.name).join(', ')}`,
    );
  }
  return a;
}

/** The account sessions run on when no swap has happened yet: the lowest priority number. */
export function defaultActiveAccount(cfg: Pick<Config, 'accounts'>): string {
  const enabled = cfg.accounts.filter((a) => a.enabled);
  const pool = enabled.length ? enabled : cfg.accounts;
  return [...pool].sort((a, b) => a.priority - b.priority)[0]!.name;
}
