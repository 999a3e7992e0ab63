import type { BaseContext } from '../lib/core/context.js';
import type { Output } from '../lib/core/output.js';
import type { DemoResult } from '../lib/ops/demo.js';
import * as z from '../lib/core/zod.js';
import { defineCommand } from './command.js';

export const demoOptionsSchema = z.strictObject({ keep: z.optional(z.boolean()) });

/** `demo [--keep]`: needs no config, no login and no network. Narrates as it goes. */
export async function demo(
  opts: z.infer<typeof demoOptionsSchema>,
  ctx: BaseContext,
): Promise<DemoResult> {
  const { runDemo } = await import('../lib/ops/demo.js');
  const out = ctx.out;
  const spinner = await out.spinner('building the sandbox');
  // The story is printed while it happens (print is silent under --json).
  const say = (text: string) => {
    spinner.stop();
    out.print(text);
  };
  try {
    const r = await runDemo({ keep: opts.keep, say, progress: (t) => spinner.update(t) });
    spinner.stop();
    return r;
  } catch (err) {
    spinner.fail();
    throw err;
  }
}

function renderDemo(r: DemoResult, out: Output): void {
  out.print(r.statusText);
  out.print(
    `7. ${r.kept ? 'Kept' : 'Cleaned up'} the sandbox. The demo took ${(r.durationMs / 1000).toFixed(1)}s.`,
  );
  if (r.kept) {
    out.print(`   Watch an agent:   tmux -L ${r.socket} attach -t demo-0   (detach: Ctrl-b d)`);
    out.print(`   Run commands:     claude-failover -c ${r.configFile} status`);
    out.print(`   Clean up:         tmux -L ${r.socket} kill-server; rm -rf ${r.sandbox}`);
  }
}

export const demoCommand = defineCommand({
  needsConfig: false,
  schema: demoOptionsSchema,
  run: demo,
  render: renderDemo,
});
