/**
 * What the registry (src/cli.ts) needs of a command: its options schema, the command
 * itself (options and context in, a result out), and how a human sees the result.
 */
import type { BaseContext, Context } from '../lib/core/context.js';
import type { Output } from '../lib/core/output.js';
import type * as z from '../lib/core/zod.js';

export type CommandSpec<Options, Result> = {
  /** Checks the parsed flags and positional arguments (by name). */
  schema: z.ZodMiniType<Options>;
  /** The text for a human; `--json` prints the result (or `json(result)`) instead. */
  render: (result: Result, out: Output) => void | Promise<void>;
  /** The exit code the result calls for (default: 0). */
  exitCode?: (result: Result) => number;
  /** The `--json` document, when it is not the result itself. */
  json?: (result: Result) => unknown;
} & (
  | { needsConfig?: true; run: (opts: Options, ctx: Context) => Promise<Result> }
  /** init, demo and quota explain also work without a config. */
  | { needsConfig: false; run: (opts: Options, ctx: BaseContext) => Promise<Result> }
);

/** Ties a command's parts together, checking that their types agree. */
export function defineCommand<Options, Result>(
  spec: CommandSpec<Options, Result>,
): CommandSpec<Options, Result> {
  return spec;
}
