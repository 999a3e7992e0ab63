/**
 * From parsed YAML to a `Config`: env expansion, the schema, then what the schema cannot
 * check alone (absolute paths, session ranges, duplicate names, known projects).
 */
import path from 'node:path';
import type { Config, SessionConfig } from './config.js';
import { rawConfigSchema, SESSION_NAME } from './config-schema.js';
import { ConfigError } from './errors.js';
import { expandEnvDeep, expandHome, expandRanges } from './expand.js';
import { importCjs } from './interop.js';
import { formatKeyPath, issueText, type ZodIssue } from './zod.js';

/** Displays a config path relative to the cwd when that is shorter. */
function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && rel.length < file.length ? rel : file;
}

// Turns zod issues into one ConfigError: the first issue on the line, the rest as a hint.
function configErrorFromIssues(file: string, issues: readonly ZodIssue[]): ConfigError {
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
    metrics: {
      textfile: cfg.metrics.textfile === null ? null : resolvePath(cfg.metrics.textfile, baseDir),
    },
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
