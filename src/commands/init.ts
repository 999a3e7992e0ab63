import fs from 'node:fs';
import path from 'node:path';
import { defaultConfigPath } from '../lib/core/config.js';
import type { GlobalOptions } from '../lib/core/context.js';
import { UsageError } from '../lib/core/errors.js';
import { expandHome } from '../lib/core/expand.js';
import { writeFileAtomic } from '../lib/core/fs-atomic.js';
import type { Output } from '../lib/core/output.js';
import { packageFile } from '../lib/core/package-root.js';

export interface InitOptions {
  force?: boolean;
  output?: string;
}

/** Writes the example config; refuses to overwrite an existing file without --force. */
export async function init(
  opts: InitOptions,
  globals: GlobalOptions,
  out: Output,
): Promise<number> {
  const target = path.resolve(expandHome(opts.output ?? globals.config ?? defaultConfigPath()));
  if (fs.existsSync(target) && !opts.force) {
    throw new UsageError(
      `${target}: already exists; not overwriting it`,
      'pass --force to replace it',
    );
  }
  const text = fs.readFileSync(packageFile('config.example.yaml'), 'utf8');
  fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
  writeFileAtomic(target, text, { mode: 0o600 });
  if (globals.json) out.printJson({ written: target });
  else {
    out.print(`wrote ${target}`);
    out.info(
      "next: edit the accounts, projects and sessions, then run 'claude-failover setup' and 'claude-failover doctor'",
    );
  }
  return 0;
}
