/**
 * The context every command gets: config, state store, tmux, clock and output. Tests build
 * a real one on temp dirs and a private tmux socket.
 */
import { loadConfig, type Config } from './config.js';
import { Output } from './output.js';
import { StateStore } from './state.js';
import { Tmux } from './tmux.js';
import { systemClock, type Clock } from './clock.js';

/** What every command gets; the ones that need no config (init, demo, quota explain) get only this. */
export interface BaseContext {
  clock: Clock;
  out: Output;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** The `--config` file, when one was given. */
  configPath?: string;
}

export interface Context extends BaseContext {
  config: Config;
  state: StateStore;
  tmux: Tmux;
}

export function contextFromConfig(
  config: Config,
  opts: { out?: Output; clock?: Clock; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Context {
  return {
    config,
    state: new StateStore(config.stateDir, config.lock),
    tmux: new Tmux(config.tmux.socket),
    clock: opts.clock ?? systemClock,
    out: opts.out ?? new Output(),
    env: opts.env ?? process.env,
    cwd: opts.cwd ?? process.cwd(),
  };
}

/** Loads the config by the lookup order (`--config` first) and builds the context on `base`. */
export async function createContext(base: BaseContext): Promise<Context> {
  const config = await loadConfig({ explicit: base.configPath });
  for (const name of config.missingEnv) {
    base.out.debug(`config: \${${name}} is not set; it expands to an empty string`);
  }
  return { ...contextFromConfig(config, base), configPath: base.configPath };
}
