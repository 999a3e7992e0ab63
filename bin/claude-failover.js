#!/usr/bin/env node
// Thin entry: enable the compile cache where Node has it (22.1+), then run the bundled CLI.
import module from 'node:module';

module.enableCompileCache?.();
const args = process.argv.slice(2);
if (
  args[0] === 'hook' &&
  (args[1] === 'run' || args[1] === 'statusline') &&
  !args.includes('--help')
) {
  // Claude Code runs the hooks on every turn: skip the command registry and the config.
  const { hookMain } = await import('../dist/hook-main.js');
  process.exitCode = await hookMain(args.slice(1));
} else {
  const { main } = await import('../dist/cli.js');
  process.exitCode = await main(process.argv);
}
