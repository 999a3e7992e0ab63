import fs from 'node:fs';
import path from 'node:path';
import { defaultConfigPath } from '../lib/core/config.js';
import type { BaseContext } from '../lib/core/context.js';
import { UsageError } from '../lib/core/errors.js';
import { expandHome } from '../lib/core/expand.js';
import { writeFileAtomic } from '../lib/core/fs-atomic.js';
import type { Output } from '../lib/core/output.js';
import { packageFile } from '../lib/core/package-root.js';
import * as z from '../lib/core/zod.js';
import { defineCommand } from './command.js';

export const initOptionsSchema = z.strictObject({
  force: z.optional(z.boolean()),
  output: z.optional(z.string()),
});

/** Writes the example config; refuses to overwrite an existing file without --force. */
export async function init(
  opts: z.infer<typeof initOptionsSchema>,
  ctx: BaseContext,
): Promise<{ written: string }> {
  const target = path.resolve(expandHome(opts.output ?? ctx.configPath ?? defaultConfigPath()));
  if (fs.existsSync(target) && !opts.force) {
    throw new UsageError(
      `${target}: already exists; not overwriting it`,
      'pass --force to replace it',
    );
  }
  const text = fs.readFileSync(packageFile('config.example.yaml'), 'utf8');
  fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
  writeFileAtomic(target, text, { mode: 0o600 });
  return { written: target };
}

function renderInit(r: { written: string }, out: Output): void {
  out.print(`wrote ${r.written}`);
  out.info(
    "next: edit the accounts, projects and sessions, then run 'claude-failover setup' and 'claude-failover doctor'",
  );
}

export const initCommand = defineCommand({
  needsConfig: false,
  schema: initOptionsSchema,
  run: init,
  render: renderInit,
});
