#!/usr/bin/env node
// Thin entry: enable the compile cache where Node has it (22.1+), then run the bundled CLI.
import module from 'node:module';

module.enableCompileCache?.();
const { main } = await import('../dist/cli.js');
process.exitCode = await main(process.argv);
