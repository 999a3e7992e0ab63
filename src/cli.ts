/**
 * The command registry. Each action lazily imports its command module, so start-up only
 * pays for what runs. Commands return data or throw CliError; only `main` picks the exit code.
 */
import { VERSION } from './lib/core/version.js';
import { Command, CommanderError, Option } from 'commander';
import { CliError, EXIT } from './lib/core/errors.js';
import { Output } from './lib/core/output.js';
import { redact } from './lib/core/redact.js';
import type { GlobalOptions } from './lib/core/context.js';

type Runner = (args: unknown[], globals: GlobalOptions, out: Output) => Promise<number | void>;

let activeOutput: Output | undefined;

function globalsOf(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals() as GlobalOptions & { color?: boolean };
  return { config: o.config, json: o.json, quiet: o.quiet, verbose: o.verbose, color: o.color };
}

/** Wraps a runner as a commander action: builds the output, hands over args and globals. */
function action(runner: Runner) {
  return async (...all: unknown[]) => {
    const cmd = all[all.length - 1] as Command;
    const globals = globalsOf(cmd);
    const out = new Output(globals);
    activeOutput = out;
    const code = await runner(all.slice(0, -1), globals, out);
    if (typeof code === 'number') process.exitCode = code;
  };
}

export function buildProgram(): Command {
  const program = new Command('claude-failover')
    .description(
      'Keep a pool of Claude Code agents in tmux working across several Anthropic accounts.',
    )
    .version(VERSION, '-V, --version')
    .option('-c, --config <file>', 'config file (default: $CLAUDE_FAILOVER_CONFIG, then a search)')
    .option('--json', 'print one JSON document on stdout; logs go to stderr')
    .option('-q, --quiet', 'print only errors and data')
    .option('-v, --verbose', 'print debug detail and stack traces')
    .option('--no-color', 'no colour (NO_COLOR is honoured too)')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('init')
    .description('write a starter config (~/.config/claude-failover/config.yaml by default)')
    .option('--force', 'overwrite an existing file')
    .option('-o, --output <file>', 'where to write it')
    .action(
      action(async ([opts], globals, out) => {
        const { init } = await import('./commands/init.js');
        return init(opts as { force?: boolean; output?: string }, globals, out);
      }),
    );

  program
    .command('demo')
    .description('run the main job in a throwaway sandbox: tasks, a quota hit, a swap')
    .option('--keep', 'leave the sandbox in place')
    .action(
      action(async ([opts], globals, out) => {
        const { demo } = await import('./commands/demo.js');
        return demo(opts as { keep?: boolean }, globals, out);
      }),
    );

  program
    .command('doctor')
    .description('check tmux, the agent, account dirs, credentials, state and locks')
    .option('--repair', 'fix what can safely be fixed, such as a corrupt state file')
    .action(
      action(async ([opts], globals, out) => {
        const { doctor } = await import('./commands/doctor.js');
        return doctor(opts as { repair?: boolean }, globals, out);
      }),
    );

  program
    .command('setup')
    .description('create account dirs, link projects/ to the shared tree, install the hooks')
    .option('--uninstall-hooks', 'remove only the hooks this tool installed')
    .action(
      action(async ([opts], globals, out) => {
        const { setup } = await import('./commands/setup.js');
        return setup(opts as { uninstallHooks?: boolean }, globals, out);
      }),
    );

  program
    .command('status')
    .description('accounts, sessions, queues, last swap, cooldown and warnings')
    .action(
      action(async (_args, globals, out) => {
        const { status } = await import('./commands/status.js');
        return status(globals, out);
      }),
    );

  const session = program
    .command('session')
    .description('start, stop, restart or list the agent sessions');
  for (const verb of ['start', 'stop', 'restart', 'list'] as const) {
    session
      .command(`${verb} [names...]`)
      .description(`${verb} sessions (default: all configured)`)
      .action(
        action(async ([names], globals, out) => {
          const { session } = await import('./commands/session.js');
          return session(verb, names as string[], globals, out);
        }),
      );
  }

  program
    .command('watch')
    .description(
      'restart dead agents with --resume, mark crash loops degraded, report stuck sessions',
    )
    .action(
      action(async (_args, globals, out) => {
        const { watch } = await import('./commands/watch.js');
        return watch(globals, out);
      }),
    );

  const quota = program.command('quota').description('usage-limit detection');
  quota
    .command('check')
    .description('scan the sessions for a usage limit; swap when it is confirmed')
    .option('--no-swap', 'detect and record, but do not swap')
    .action(
      action(async ([opts], globals, out) => {
        const { quotaCheck } = await import('./commands/quota-check.js');
        return quotaCheck(
          opts as import('./commands/quota-check.js').QuotaCheckCommandOptions,
          globals,
          out,
        );
      }),
    );
  quota
    .command('explain [file]')
    .description('classify captured pane text (a file, or - for stdin)')
    .option('--now <iso>', 'the detection time (default: now)')
    .option(
      '--tz <zone>',
      'time zone for clock-only reset times (default: quota.timezone, then the system zone)',
    )
    .action(
      action(async ([file, opts], globals, out) => {
        const { quotaExplain } = await import('./commands/quota-explain.js');
        return quotaExplain(
          file as string | undefined,
          opts as { now?: string; tz?: string },
          globals,
          out,
        );
      }),
    );

  program
    .command('swap')
    .description('move every session to another account and resume its conversation')
    .option('--from <account>', 'the account to leave (default: the active one)')
    .option('--to <account>', 'the target account (default: picked by priority and headroom)')
    .option('--reason <text>', 'why, for the record')
    .option('--dry-run', 'print the plan and change nothing')
    .action(
      action(async ([opts], globals, out) => {
        const { swap } = await import('./commands/swap.js');
        return swap(opts as import('./commands/swap.js').SwapCommandOptions, globals, out);
      }),
    );

  program
    .command('dispatch')
    .description('hand inbox tasks to idle sessions')
    .option('--dry-run', 'print what would be dispatched and change nothing')
    .action(
      action(async ([opts], globals, out) => {
        const { dispatch } = await import('./commands/dispatch.js');
        return dispatch(opts as { dryRun?: boolean }, globals, out);
      }),
    );

  const task = program
    .command('task')
    .description('task queue helpers')
    .addHelpText('after', '\nAn id that starts with "-" goes after "--": task done -- -my-task');
  task
    .command('add <project> [file]')
    .description('queue a task (from a file, or - for stdin)')
    .option('--id <id>', 'task id (default: from the file name, or a timestamp and a slug)')
    .option('--priority <n>', 'higher goes first')
    .option('--session <name>', 'pin it to one session')
    .action(
      action(async ([project, file, opts], globals, out) => {
        const { taskAdd } = await import('./commands/task.js');
        return taskAdd(
          project as string,
          file as string | undefined,
          opts as { id?: string; priority?: string; session?: string },
          globals,
          out,
        );
      }),
    );
  task
    .command('list')
    .description('pending, dispatched, done and failed tasks')
    .option('--project <name>', 'only this project')
    .action(
      action(async ([opts], globals, out) => {
        const { taskList } = await import('./commands/task.js');
        return taskList(opts as { project?: string }, globals, out);
      }),
    );
  task
    .command('done <id>')
    .description('mark a task done (what an agent runs when it finishes)')
    .option('--session <name>', 'default: $CLAUDE_FAILOVER_SESSION')
    .option('--project <name>', 'default: the project that has the id')
    .action(
      action(async ([id, opts], globals, out) => {
        const { taskDone } = await import('./commands/task.js');
        return taskDone(id as string, opts as { session?: string; project?: string }, globals, out);
      }),
    );
  task
    .command('fail <id>')
    .description('mark a task failed')
    .requiredOption('--reason <text>', 'why it failed')
    .option('--session <name>', 'default: $CLAUDE_FAILOVER_SESSION')
    .option('--project <name>', 'default: the project that has the id')
    .action(
      action(async ([id, opts], globals, out) => {
        const { taskFail } = await import('./commands/task.js');
        return taskFail(
          id as string,
          opts as { reason: string; session?: string; project?: string },
          globals,
          out,
        );
      }),
    );
  task
    .command('requeue <id>')
    .description('put a task back in the queue (from failed/ or done/, or undo its hand-out)')
    .option('--project <name>', 'default: the project that has the id')
    .option('--reason <text>', 'why, for the record')
    .action(
      action(async ([id, opts], globals, out) => {
        const { taskRequeue } = await import('./commands/task.js');
        return taskRequeue(
          id as string,
          opts as { project?: string; reason?: string },
          globals,
          out,
        );
      }),
    );

  program
    .command('checkpoint [names...]')
    .description("snapshot each session's context: task, last tool call, working dir")
    .action(
      action(async ([names], globals, out) => {
        const { checkpoint } = await import('./commands/checkpoint.js');
        return checkpoint(names as string[], globals, out);
      }),
    );

  program
    .command('janitor')
    .description('clean stale markers, archive done tasks, prune checkpoints, rotate logs')
    .option('--dry-run', 'list the actions without doing them')
    .action(
      action(async ([opts], globals, out) => {
        const { janitor } = await import('./commands/janitor.js');
        return janitor(opts as { dryRun?: boolean }, globals, out);
      }),
    );

  const notify = program.command('notify').description('notifications');
  notify
    .command('test')
    .description('send a test event to every configured sink (exit 1 if any fails)')
    .action(
      action(async (_args, globals, out) => {
        const { notifyTest } = await import('./commands/notify.js');
        return notifyTest(globals, out);
      }),
    );

  const hook = program
    .command('hook')
    .description('entry points for Claude Code hooks (installed by setup)');
  hook
    .command('run <event>')
    .description('record a hook signal (SessionStart, UserPromptSubmit, Stop, StopFailure)')
    .action(
      action(async ([event]) => {
        const { hookMain } = await import('./hook-main.js');
        return hookMain(['run', event as string]);
      }),
    );
  hook
    .command('statusline')
    .description('record the statusline usage and print a short status line')
    .action(
      action(async () => {
        const { hookMain } = await import('./hook-main.js');
        return hookMain(['statusline']);
      }),
    );

  const cron = program.command('cron').description('crontab block that runs tick every minute');
  const cronHelp = {
    print: 'print the crontab block',
    install: 'add the block to your crontab, or update it in place (idempotent)',
    uninstall: 'remove only the block from your crontab',
  } as const;
  for (const verb of ['print', 'install', 'uninstall'] as const) {
    cron
      .command(verb)
      .description(cronHelp[verb])
      .action(
        action(async (_args, globals, out) => {
          const { cron } = await import('./commands/cron.js');
          return cron(verb, globals, out);
        }),
      );
  }

  const systemd = program
    .command('systemd')
    .description('systemd service and timer that run tick (every 30s by default)');
  const systemdHelp = {
    print: 'print the service and timer units',
    install: 'write the units and enable the timer (prints the systemctl commands without systemd)',
    uninstall: 'disable the timer and remove only our units',
  } as const;
  for (const verb of ['print', 'install', 'uninstall'] as const) {
    const sub = systemd
      .command(verb)
      .description(systemdHelp[verb])
      .addOption(
        new Option('--user', 'user units (~/.config/systemd/user) instead of system units'),
      );
    if (verb !== 'uninstall') {
      sub.addOption(new Option('--every <duration>', 'timer period (default: 30s)'));
    }
    if (verb !== 'print') {
      sub.addOption(
        new Option('--no-enable', 'only write or remove the files; do not run systemctl'),
      );
    }
    sub.action(
      action(async ([opts], globals, out) => {
        const { systemd } = await import('./commands/systemd.js');
        return systemd(
          verb,
          opts as { user?: boolean; every?: string; enable?: boolean },
          globals,
          out,
        );
      }),
    );
  }

  program
    .command('tick')
    .description('one full cycle: watch, quota check, dispatch, checkpoint, janitor, outbox')
    .action(
      action(async (_args, globals, out) => {
        const { tick } = await import('./commands/tick.js');
        return tick(globals, out);
      }),
    );

  return program;
}

function renderError(err: unknown, out: Output, verbose: boolean): number {
  if (err instanceof CliError) {
    // stderr is redacted by Output; the JSON error on stdout must be too (a config error
    // quotes the value it rejected, and that value may be a token).
    if (out.opts.json) {
      out.printJson({
        error: {
          message: redact(err.message),
          exitCode: err.exitCode,
          hint: err.hint ? redact(err.hint) : null,
        },
      });
    }
    out.error(err.message);
    if (err.hint) out.info(`hint: ${err.hint}`);
    if (verbose && err.stack) out.info(err.stack);
    return err.exitCode;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  if (out.opts.json)
    out.printJson({ error: { message: redact(e.message), exitCode: EXIT.FAILURE, hint: null } });
  out.error(e.message);
  // An unexpected error is a bug: show where it came from.
  if (e.stack) out.info(verbose ? e.stack : e.stack.split('\n').slice(0, 4).join('\n'));
  return EXIT.FAILURE;
}

/** Runs the CLI and returns the exit code. Only the bin sets process.exitCode. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  for (const cmd of allCommands(program)) cmd.exitOverride();
  process.exitCode = undefined;
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version')
        return EXIT.OK;
      // A group called without a subcommand prints its help with a non-zero code: usage error.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    const json = argv.includes('--json');
    const verbose = argv.includes('-v') || argv.includes('--verbose');
    return renderError(err, activeOutput ?? new Output({ json, verbose }), verbose);
  }
}

function allCommands(cmd: Command): Command[] {
  return cmd.commands.flatMap((c) => [c, ...allCommands(c)]);
}
