/**
 * The command registry. Each action lazily imports its command module, so start-up only
 * pays for what runs. An action checks the options with the command's zod schema, builds
 * the context once, runs the command (which returns data or throws CliError), and renders
 * the result: one JSON document under --json, text otherwise. Only `main` picks the exit code.
 */
import { VERSION } from './lib/core/version.js';
import { Command, CommanderError, Option } from 'commander';
import { CliError, EXIT } from './lib/core/errors.js';
import { ioFaultError, takeSkippedWrites } from './lib/core/io-faults.js';
import { Output } from './lib/core/output.js';
import { redact } from './lib/core/redact.js';
import type { CommandSpec } from './commands/command.js';
import type { CommandCall, Run } from './commands/invoke.js';

/**
 * A commander action for a lazily loaded command. What commander parsed (the options, the
 * positional arguments by name, the globals, and the `fixed` values of a command registered
 * in a loop, such as `session start`'s `verb`) goes to `invoke`, loaded with the command.
 */
function command<Options, Result>(
  run: Run,
  load: () => Promise<CommandSpec<Options, Result>>,
  fixed: Record<string, unknown> = {},
) {
  return async function (this: Command): Promise<void> {
    const call: CommandCall = {
      globals: this.optsWithGlobals(),
      options: { ...fixed, ...this.opts() },
      positional: this.registeredArguments.map((a) => a.name()),
      args: this.processedArgs,
    };
    const [{ invoke }, spec] = await Promise.all([import('./commands/invoke.js'), load()]);
    await invoke(run, spec, call);
  };
}

function buildProgram(run: Run = { exitCode: EXIT.OK }): Command {
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
    .action(command(run, async () => (await import('./commands/init.js')).initCommand));

  program
    .command('demo')
    .description('run the main job in a throwaway sandbox: tasks, a quota hit, a swap')
    .option('--keep', 'leave the sandbox in place')
    .action(command(run, async () => (await import('./commands/demo.js')).demoCommand));

  program
    .command('doctor')
    .description('check tmux, the agent, account dirs, credentials, state and locks')
    .option('--repair', 'fix what can safely be fixed, such as a corrupt state file')
    .action(command(run, async () => (await import('./commands/doctor.js')).doctorCommand));

  program
    .command('setup')
    .description('create account dirs, link projects/ to the shared tree, install the hooks')
    .option('--uninstall-hooks', 'remove only the hooks (and the MCP server) this tool installed')
    .option('--uninstall-mcp', "remove only the MCP server from each account's .claude.json")
    .action(command(run, async () => (await import('./commands/setup.js')).setupCommand));

  program
    .command('status')
    .description('accounts, sessions, queues, last swap, cooldown and warnings')
    .action(command(run, async () => (await import('./commands/status.js')).statusCommand));

  const session = program
    .command('session')
    .description('start, stop, restart or list the agent sessions');
  for (const verb of ['start', 'stop', 'restart'] as const) {
    session
      .command(`${verb} [names...]`)
      .description(`${verb} sessions (default: all configured)`)
      .action(
        command(run, async () => (await import('./commands/session.js')).sessionCommand, { verb }),
      );
  }
  session
    .command('list [names...]')
    .description('list sessions (default: all configured)')
    .action(command(run, async () => (await import('./commands/session.js')).sessionListCommand));

  program
    .command('watch')
    .description(
      'restart dead agents with --resume, mark crash loops degraded, report stuck sessions',
    )
    .action(command(run, async () => (await import('./commands/watch.js')).watchCommand));

  const quota = program.command('quota').description('usage-limit detection');
  quota
    .command('check')
    .description('scan the sessions for a usage limit; swap when it is confirmed')
    .option('--no-swap', 'detect and record, but do not swap')
    .action(
      command(run, async () => (await import('./commands/quota-check.js')).quotaCheckCommand),
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
      command(run, async () => (await import('./commands/quota-explain.js')).quotaExplainCommand),
    );

  program
    .command('swap')
    .description('move every session to another account and resume its conversation')
    .option('--from <account>', 'the account to leave (default: the active one)')
    .option('--to <account>', 'the target account (default: picked by priority and headroom)')
    .option('--reason <text>', 'why, for the record')
    .option('--dry-run', 'print the plan and change nothing')
    .action(command(run, async () => (await import('./commands/swap.js')).swapCommand));

  program
    .command('dispatch')
    .description('hand inbox tasks to idle sessions')
    .option('--dry-run', 'print what would be dispatched and change nothing')
    .action(command(run, async () => (await import('./commands/dispatch.js')).dispatchCommand));

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
    .action(command(run, async () => (await import('./commands/task.js')).taskAddCommand));
  task
    .command('list')
    .description('pending, dispatched, done and failed tasks')
    .option('--project <name>', 'only this project')
    .action(command(run, async () => (await import('./commands/task.js')).taskListCommand));
  task
    .command('done <id>')
    .description('mark a task done (what an agent runs when it finishes)')
    .option('--session <name>', 'default: $CLAUDE_FAILOVER_SESSION')
    .option('--project <name>', 'default: the project that has the id')
    .action(command(run, async () => (await import('./commands/task-finish.js')).taskDoneCommand));
  task
    .command('fail <id>')
    .description('mark a task failed')
    .requiredOption('--reason <text>', 'why it failed')
    .option('--session <name>', 'default: $CLAUDE_FAILOVER_SESSION')
    .option('--project <name>', 'default: the project that has the id')
    .action(command(run, async () => (await import('./commands/task-finish.js')).taskFailCommand));
  task
    .command('requeue <id>')
    .description('put a task back in the queue (from failed/ or done/, or undo its hand-out)')
    .option('--project <name>', 'default: the project that has the id')
    .option('--reason <text>', 'why, for the record')
    .action(
      command(run, async () => (await import('./commands/task-finish.js')).taskRequeueCommand),
    );

  program
    .command('checkpoint [names...]')
    .description("snapshot each session's context: task, last tool call, working dir")
    .action(command(run, async () => (await import('./commands/checkpoint.js')).checkpointCommand));

  program
    .command('janitor')
    .description('clean stale markers, archive done tasks, prune checkpoints, rotate logs')
    .option('--dry-run', 'list the actions without doing them')
    .action(command(run, async () => (await import('./commands/janitor.js')).janitorCommand));

  const notify = program.command('notify').description('notifications');
  notify
    .command('test')
    .description('send a test event to every configured sink (exit 1 if any fails)')
    .action(command(run, async () => (await import('./commands/notify.js')).notifyTestCommand));

  const hook = program
    .command('hook')
    .description('entry points for Claude Code hooks (installed by setup)');
  hook
    .command('run <event>')
    .description('record a hook signal (SessionStart, UserPromptSubmit, Stop, StopFailure)')
    .action(async (event: string) => {
      const { hookMain } = await import('./hook-main.js');
      run.exitCode = await hookMain(['run', event]);
    });
  hook
    .command('trigger <kind>')
    .description(
      'run the step a hook asked for now (limit: quota check; idle: dispatch), coalesced; the hooks start it',
    )
    .action(
      command(run, async () => (await import('./commands/hook-trigger.js')).hookTriggerCommand),
    );
  hook
    .command('statusline')
    .description('record the statusline usage and print a short status line')
    .action(async () => {
      const { hookMain } = await import('./hook-main.js');
      run.exitCode = await hookMain(['statusline']);
    });

  const cron = program.command('cron').description('crontab block that runs tick every minute');
  cron
    .command('print')
    .description('print the crontab block')
    .action(command(run, async () => (await import('./commands/cron.js')).cronPrintCommand));
  cron
    .command('install')
    .description('add the block to your crontab, or update it in place (idempotent)')
    .action(command(run, async () => (await import('./commands/cron.js')).cronInstallCommand));
  cron
    .command('uninstall')
    .description('remove only the block from your crontab')
    .action(command(run, async () => (await import('./commands/cron.js')).cronUninstallCommand));

  const systemd = program
    .command('systemd')
    .description('systemd service and timer that run tick (every 30s by default)');
  const userOption = () =>
    new Option('--user', 'user units (~/.config/systemd/user) instead of system units');
  const everyOption = () => new Option('--every <duration>', 'timer period (default: 30s)');
  const noEnableOption = () =>
    new Option('--no-enable', 'only write or remove the files; do not run systemctl');
  systemd
    .command('print')
    .description('print the service and timer units')
    .addOption(userOption())
    .addOption(everyOption())
    .action(command(run, async () => (await import('./commands/systemd.js')).systemdPrintCommand));
  systemd
    .command('install')
    .description(
      'write the units and enable the timer (prints the systemctl commands without systemd)',
    )
    .addOption(userOption())
    .addOption(everyOption())
    .addOption(noEnableOption())
    .action(
      command(run, async () => (await import('./commands/systemd.js')).systemdInstallCommand),
    );
  systemd
    .command('uninstall')
    .description('disable the timer and remove only our units')
    .addOption(userOption())
    .addOption(noEnableOption())
    .action(
      command(run, async () => (await import('./commands/systemd.js')).systemdUninstallCommand),
    );

  program
    .command('metrics')
    .description('the Prometheus text exposition of accounts, sessions, queues and swaps')
    .action(command(run, async () => (await import('./commands/metrics.js')).metricsCommand));

  program
    .command('mcp')
    .description('a stdio MCP server for Claude Code: status, tasks, sessions, swap')
    .option('--allow-write', 'offer the write tools too (default: mcp.allowWrite)')
    .action(command(run, async () => (await import('./commands/mcp.js')).mcpCommand));

  program
    .command('tick')
    .description('one full cycle: watch, quota check, dispatch, checkpoint, janitor, outbox')
    .action(command(run, async () => (await import('./commands/tick.js')).tickCommand));

  return program;
}

function renderError(
  thrown: unknown,
  out: Output,
  verbose: boolean,
  stateDir: string | undefined,
): number {
  // A full disk or a read-only directory is explained like any other error, not as a bug.
  const err = ioFaultError(thrown, { stateDir }) ?? thrown;
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
    // -v: where a translated error (a filesystem fault) really came from.
    if (verbose && err.cause instanceof Error && err.cause.stack) out.info(err.cause.stack);
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
  const run: Run = { exitCode: EXIT.OK };
  const program = buildProgram(run);
  program.exitOverride();
  for (const cmd of allCommands(program)) cmd.exitOverride();
  try {
    await program.parseAsync(argv);
    warnSkippedWrites(run.out);
    return run.exitCode;
  } catch (err) {
    const fault = ioFaultError(err);
    warnSkippedWrites(run.out, fault ? new Set([fault.code]) : undefined);
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version')
        return EXIT.OK;
      // A group called without a subcommand prints its help with a non-zero code: usage error.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    const json = argv.includes('--json');
    const verbose = argv.includes('-v') || argv.includes('--verbose');
    return renderError(err, run.out ?? new Output({ json, verbose }), verbose, run.stateDir);
  }
}

/**
 * One warning per file whose secondary writes (events, outbox, checkpoints) were skipped,
 * but none for the fault the run's error already names.
 */
function warnSkippedWrites(out: Output | undefined, except?: ReadonlySet<string>): void {
  const lines = takeSkippedWrites(except);
  if (!lines.length) return;
  const o = out ?? new Output();
  for (const line of lines) o.warn(line);
}

function allCommands(cmd: Command): Command[] {
  return cmd.commands.flatMap((c) => [c, ...allCommands(c)]);
}
