/**
 * Runs one command for the registry (src/cli.ts), which loads this module lazily with the
 * command: checks the globals and the options with zod, builds the context once, calls the
 * command, and prints its result (one JSON document under --json, the render otherwise).
 */
import { systemClock } from '../lib/core/clock.js';
import type { BaseContext } from '../lib/core/context.js';
import { EXIT, UsageError } from '../lib/core/errors.js';
import { Output } from '../lib/core/output.js';
import * as z from '../lib/core/zod.js';
import type { CommandSpec } from './command.js';

/** One CLI run: the exit code so far, the output errors go to, and the config's stateDir. */
export interface Run {
  exitCode: number;
  out?: Output;
  /** Known once the config is loaded: a filesystem fault there is explained as stateDir's. */
  stateDir?: string;
}

const globalOptionsSchema = z.object({
  config: z.optional(z.string()),
  json: z.optional(z.boolean()),
  quiet: z.optional(z.boolean()),
  verbose: z.optional(z.boolean()),
  color: z.optional(z.boolean()),
});

/** `dryRun` -> `--dry-run`; a positional argument keeps its name. */
function optionName(key: PropertyKey | undefined, positional: string[]): string {
  const name = String(key ?? '');
  if (positional.includes(name)) return name;
  return `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Checks `raw` with the command's schema; a bad value is a usage error naming the flag. */
function parseOptions<Options>(
  schema: z.ZodMiniType<Options>,
  raw: Record<string, unknown>,
  positional: string[],
): Options {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new UsageError(`${optionName(issue.path[0], positional)}: ${z.issueText(issue)}`);
}

/** What commander parsed for one command. */
export interface CommandCall {
  globals: Record<string, unknown>;
  /** The options, and the fixed values of a command registered in a loop. */
  options: Record<string, unknown>;
  /** The names of the positional arguments, in order. */
  positional: string[];
  args: unknown[];
}

/** Checks the call against the command's schema, runs the command and renders its result. */
export async function invoke<Options, Result>(
  run: Run,
  spec: CommandSpec<Options, Result>,
  call: CommandCall,
): Promise<void> {
  const globals = globalOptionsSchema.parse(call.globals);
  const out = new Output(globals);
  run.out = out;
  const raw: Record<string, unknown> = { ...call.options };
  call.positional.forEach((name, i) => (raw[name] = call.args[i]));
  const opts = parseOptions(spec.schema, raw, call.positional);
  const base: BaseContext = {
    out,
    clock: systemClock,
    env: process.env,
    cwd: process.cwd(),
    configPath: globals.config,
  };
  let result: Result;
  if (spec.needsConfig === false) result = await spec.run(opts, base);
  else {
    const ctx = await (await import('../lib/core/context.js')).createContext(base);
    run.stateDir = ctx.config.stateDir;
    result = await spec.run(opts, ctx);
  }
  if (globals.json) out.printJson(spec.json ? spec.json(result) : result);
  else await spec.render(result, out);
  run.exitCode = spec.exitCode?.(result) ?? EXIT.OK;
}
