/**
 * The config: its type, where it is looked up (--config, $CLAUDE_FAILOVER_CONFIG, cosmiconfig,
 * then XDG; the README's "Configuration" section), loading, and account lookups. In a
 * `Config`, durations are milliseconds, sizes bytes, paths absolute, session ranges expanded.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig, parseConfigText } from './config-parse.js';
import type { RawConfig } from './config-schema.js';
import { ConfigError, UsageError } from './errors.js';
import { expandHome } from './expand.js';
import { importCjs } from './interop.js';

export const CONFIG_MODULE = 'claude-failover';
const CONFIG_SEARCH_PLACES = [
  'package.json',
  `.${CONFIG_MODULE}rc`,
  `.${CONFIG_MODULE}rc.yaml`,
  `.${CONFIG_MODULE}rc.yml`,
  `.${CONFIG_MODULE}rc.json`,
  `${CONFIG_MODULE}.config.yaml`,
  `${CONFIG_MODULE}.config.yml`,
  `${CONFIG_MODULE}.config.json`,
];

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

interface ConfigLookup {
  /** `--config` */
  explicit?: string | undefined;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

// Where the lookup would look, in order: for error messages.
function configCandidates(opts: ConfigLookup): string[] {
  const env = opts.env ?? process.env;
  const xdg = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return [
    '--config',
    '$CLAUDE_FAILOVER_CONFIG',
    `cosmiconfig '${CONFIG_MODULE}' from ${opts.cwd ?? process.cwd()}`,
    path.join(xdg, CONFIG_MODULE, 'config.yaml'),
  ];
}

/** Finds the config file in the lookup order above; null when there is none. */
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
