import type { GlobalOptions } from '../lib/core/context.js';
import type { Output } from '../lib/core/output.js';

/** `demo [--keep]`: needs no config, no login and no network. */
export async function demo(
  opts: { keep?: boolean },
  globals: GlobalOptions,
  out: Output,
): Promise<number> {
  const { runDemo } = await import('../lib/ops/demo.js');
  const spinner = await out.spinner('building the sandbox');
  const say = (text: string) => {
    spinner.stop();
    if (!globals.json) out.print(text);
  };
  try {
    const r = await runDemo({ keep: opts.keep, say, progress: (t) => spinner.update(t) });
    spinner.stop();
    if (globals.json) {
      out.printJson(r);
      return 0;
    }
    out.print(r.statusText);
    out.print(
      `7. ${r.kept ? 'Kept' : 'Cleaned up'} the sandbox. The demo took ${(r.durationMs / 1000).toFixed(1)}s.`,
    );
    if (r.kept) {
      out.print(`   Watch an agent:   tmux -L ${r.socket} attach -t demo-0   (detach: Ctrl-b d)`);
      out.print(`   Run commands:     claude-failover -c ${r.configFile} status`);
      out.print(`   Clean up:         tmux -L ${r.socket} kill-server; rm -rf ${r.sandbox}`);
    }
    return 0;
  } catch (err) {
    spinner.fail();
    throw err;
  }
}
