/**
 * What cron and systemd run: `tick`, with absolute paths to node, the CLI and the config,
 * and a PATH that finds tmux and the agent (a scheduler's own PATH is bare).
 */
import path from 'node:path';
import { CONFIG_MODULE, type Config } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import { packageFile } from '../core/package-root.js';

export interface TickCommand {
  node: string;
  cli: string;
  /** The absolute config file. */
  config: string;
  stateDir: string;
  /** The arguments after the CLI. */
  args: string[];
  /** The PATH the scheduled command runs with. */
  path: string;
}

/** Where every Linux distribution keeps its programs; cron's own PATH lacks most of them. */
const STANDARD_PATH = [
  '/usr/local/sbin',
  '/usr/local/bin',
  '/usr/sbin',
  '/usr/bin',
  '/sbin',
  '/bin',
];

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * The PATH for a scheduled run: node's own directory, then the installing user's PATH (so
 * `claude` and `tmux` are found where the operator finds them), then the standard dirs.
 * Relative entries and the node_modules dirs npm and npx add are left out.
 */
function schedulePath(env: NodeJS.ProcessEnv, node: string): string {
  const dirs = [path.dirname(node), ...(env.PATH ?? '').split(':'), ...STANDARD_PATH];
  const seen = new Set<string>();
  for (const d of dirs) {
    if (!path.isAbsolute(d) || CONTROL.test(d) || d.includes('/node_modules/')) continue;
    seen.add(d.length > 1 ? d.replace(/\/+$/, '') : d);
  }
  return [...seen].join(':');
}

/** The config file to pass with `-c`: absolute, and `package.json` for a package.json config. */
function configFileOf(config: Pick<Config, 'file'>): string {
  if (!config.file) {
    throw new ConfigError(
      'a scheduled tick needs a config file, and this config has none',
      "write one with 'claude-failover init' and pass it with -c",
    );
  }
  const file = config.file.replace(new RegExp(`#${CONFIG_MODULE}$`), '');
  return path.resolve(file);
}

/** The tick command line a scheduler runs. Throws ConfigError for a path it cannot hold. */
export function tickCommand(
  config: Pick<Config, 'file' | 'stateDir'>,
  opts: { env?: NodeJS.ProcessEnv; node?: string; cli?: string } = {},
): TickCommand {
  const node = opts.node ?? process.execPath;
  const cli = opts.cli ?? packageFile('bin', 'claude-failover.js');
  const file = configFileOf(config);
  for (const [what, p] of [
    ['node', node],
    ['the CLI', cli],
    ['the config file', file],
    ['stateDir', config.stateDir],
  ] as const) {
    if (CONTROL.test(p)) {
      throw new ConfigError(
        `the path of ${what} holds a control character (a newline?), which a crontab or unit cannot hold: ${JSON.stringify(p)}`,
      );
    }
  }
  return {
    node,
    cli,
    config: file,
    stateDir: config.stateDir,
    args: ['-q', '-c', file, 'tick'],
    path: schedulePath(opts.env ?? process.env, node),
  };
}
