/**
 * The tmux layer: every tmux call goes through here, on a private server (`-L socket`) when
 * one is configured. Text for an agent goes in literally through a paste buffer, never a shell.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { ExternalCommandError } from './errors.js';
import { run } from './exec.js';

export interface PaneInfo {
  session: string;
  paneId: string;
  dead: boolean;
  deadStatus: number | null;
  pid: number | null;
  currentCommand: string;
  currentPath: string;
}

export interface NewSessionOptions {
  name: string;
  cwd: string;
  /** Variables to set in the session (tmux `-e`). */
  env?: Record<string, string>;
  /** argv of the program to run; run directly by tmux, no shell. */
  command: readonly string[];
  width?: number;
  height?: number;
  /** Variables to remove from what the tmux server passes on. */
  unsetEnv?: readonly string[];
  /** Keep the pane after the program exits, so its last words can be read. */
  remainOnExit?: boolean;
}

// A separator that cannot occur in session names and is vanishingly unlikely in a path.
const SEP = '\u241e|cf|';
const PANE_FORMAT = [
  '#{session_name}',
  '#{pane_id}',
  '#{pane_dead}',
  '#{pane_dead_status}',
  '#{pane_pid}',
  '#{pane_current_command}',
  '#{pane_current_path}',
].join(SEP);

// CSI, OSC and the other escape sequences a TUI draws with.
const ANSI_RE =
  // eslint-disable-next-line no-control-regex
  /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[PX^_][^\u001b]*\u001b\\|[@-Z\\-_])/g;

/** Removes terminal escape sequences. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI_RE, '');
}

const stderrOf = (err: unknown) =>
  err instanceof ExternalCommandError ? err.stderr || err.message : '';

function isNoServer(err: unknown): boolean {
  return (
    err instanceof ExternalCommandError &&
    /no server running|error connecting to|can't find session|session not found|no such file or directory/i.test(
      err.stderr || err.message,
    )
  );
}

/** tmux commands that only read; every other one may change what `list-panes` shows. */
const READ_ONLY = new Set(['list-panes', 'capture-pane', 'show-environment', 'list-sessions']);

export class Tmux {
  /** Bumped at the start and the end of every command that may change the server. */
  private epoch = 0;
  /** The `list-panes` in flight, and the epoch it started in. */
  private listing: { epoch: number; panes: Promise<PaneInfo[]> } | null = null;
  /** Pane captures asked for in this turn of the event loop, run as one tmux call. */
  private captures: PendingCapture[] | null = null;

  constructor(
    /** `tmux -L <socket>`; null for the default server. */
    readonly socket: string | null = null,
    private readonly bin = 'tmux',
  ) {}

  private baseArgs(): string[] {
    // -u: cron runs us without a UTF-8 locale, and tmux would then replace every non-ASCII
    // character (the `·` of limit messages, unicode paths, our separator) with `_`.
    return this.socket ? ['-u', '-L', this.socket] : ['-u'];
  }

  /** Runs one tmux command; throws ExternalCommandError on failure. */
  async run(
    args: readonly string[],
    opts: { input?: string; timeout?: number } = {},
  ): Promise<string> {
    const changes = !READ_ONLY.has(args[0] ?? '');
    if (changes) this.epoch++;
    try {
      const res = await run(this.bin, [...this.baseArgs(), ...args], {
        input: opts.input,
        timeout: opts.timeout ?? 10_000,
      });
      return res.stdout;
    } finally {
      if (changes) this.epoch++;
    }
  }

  async version(): Promise<string> {
    return (await run(this.bin, ['-V'])).stdout.trim();
  }

  async hasSession(name: string): Promise<boolean> {
    // `=` makes the match exact: `ccl-1` must not match `ccl-10`.
    const res = await run(this.bin, [...this.baseArgs(), 'has-session', '-t', `=${name}`], {
      reject: false,
    });
    return res.exitCode === 0;
  }

  async newSession(opts: NewSessionOptions): Promise<void> {
    if (opts.command.length === 0) throw new Error('newSession: empty command');
    const args = ['new-session', '-d', '-s', opts.name, '-c', opts.cwd];
    args.push('-x', String(opts.width ?? 200), '-y', String(opts.height ?? 50));
    for (const [k, v] of Object.entries(opts.env ?? {})) args.push('-e', `${k}=${v}`);
    // tmux runs a multi-word command directly but hands a single word to `sh -c`. Starting
    // through env(1) keeps it argv-only whatever the command, and lets us drop variables the
    // tmux server would otherwise pass on (`-e` can only set them).
    const unset = (opts.unsetEnv ?? []).flatMap((name) => ['-u', name]);
    // tmux reads a lone ';' argument as a command separator; '\\;' is its literal form.
    const argv = opts.command.map((a) => (a === ';' ? '\\;' : a));
    args.push('--', 'env', ...unset, '--', ...argv);
    if (opts.remainOnExit) {
      // Chained in the same invocation, so it is set before tmux can notice the program exit.
      args.push(';', 'set-option', '-w', '-t', `=${opts.name}:`, 'remain-on-exit', 'on');
    }
    // Killing a server's last session makes it exit; a new-session that reaches it while it
    // shuts down fails with "server exited unexpectedly". The next try starts a new server.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.run(args);
        return;
      } catch (err) {
        const lost =
          err instanceof ExternalCommandError &&
          /server exited unexpectedly|lost server/i.test(err.stderr || err.message);
        if (!lost || attempt >= 4) throw err;
        await sleep(100 * (attempt + 1));
      }
    }
  }

  async killSession(name: string): Promise<boolean> {
    try {
      await this.run(['kill-session', '-t', `=${name}`]);
      return true;
    } catch (err) {
      if (isNoServer(err)) return false;
      throw err;
    }
  }

  async killServer(): Promise<void> {
    try {
      await this.run(['kill-server']);
    } catch (err) {
      if (!isNoServer(err)) throw err;
    }
  }

  /**
   * Every pane of the server; empty when no server is running. Callers that ask while a
   * `list-panes` is in flight share it (20 sessions polled in parallel cost one tmux call
   * per round, not 20), unless this instance sent a command that may change the server since
   * that call started: a caller that awaited its own change must see it.
   */
  async listPanes(): Promise<PaneInfo[]> {
    let listing = this.listing;
    if (!listing || listing.epoch !== this.epoch) {
      const entry = { epoch: this.epoch, panes: this.listPanesNow() };
      listing = this.listing = entry;
      entry.panes
        .finally(() => {
          if (this.listing === entry) this.listing = null;
        })
        .catch(() => undefined);
    }
    return (await listing.panes).map((p) => ({ ...p }));
  }

  private async listPanesNow(): Promise<PaneInfo[]> {
    let out: string;
    try {
      out = await this.run(['list-panes', '-a', '-F', PANE_FORMAT]);
    } catch (err) {
      // A server that is up with no session left (its last one was just killed while a
      // client is still attached, or `exit-empty` is off) answers "no current target".
      if (isNoServer(err) || /no current target/i.test(stderrOf(err))) return [];
      throw err;
    }
    const panes: PaneInfo[] = [];
    for (const line of out.split('\n')) {
      if (!line) continue;
      const parts = line.split(SEP);
      if (parts.length < 7) continue;
      const [session, paneId, dead, deadStatus, pid, cmd] = parts as [
        string,
        string,
        string,
        string,
        string,
        string,
      ];
      panes.push({
        session,
        paneId,
        dead: dead === '1',
        deadStatus: deadStatus === '' ? null : Number(deadStatus),
        pid: pid ? Number(pid) : null,
        currentCommand: cmd,
        currentPath: parts.slice(6).join(SEP),
      });
    }
    return panes;
  }

  /** The first pane of each session, by session name. */
  async sessions(): Promise<Map<string, PaneInfo>> {
    const map = new Map<string, PaneInfo>();
    for (const pane of await this.listPanes())
      if (!map.has(pane.session)) map.set(pane.session, pane);
    return map;
  }

  /**
   * The last `lines` lines of a pane that have text, ANSI stripped, wrapped lines joined,
   * with the blank lines between them kept. Blank lines are not counted: Claude Code 2.x pins
   * its input box to the bottom of the screen with blank rows above it, and tmux writes
   * "Pane is dead" on the last row, so on a 50-row pane a message at the top (a limit, "Not
   * logged in", "No conversation found") would otherwise fall outside the last 40 rows.
   */
  async capturePane(target: string, lines = 40): Promise<string[]> {
    const history = Math.max(lines, 50) + 200;
    const out = await new Promise<string>((resolve, reject) => {
      if (!this.captures) {
        this.captures = [];
        setImmediate(() => void this.flushCaptures());
      }
      this.captures.push({ args: captureArgs(target, history), resolve, reject });
    });
    const all = stripAnsi(out).replace(/\r/g, '').split('\n');
    while (all.length && all[all.length - 1]!.trim() === '') all.pop();
    let start = all.length;
    for (let counted = 0; start > 0 && counted < lines;) if (all[--start]!.trim()) counted++;
    return all.slice(start);
  }

  /**
   * Runs the captures asked for in one turn of the event loop (20 agents starting at once
   * poll their panes together) as one tmux call, each followed by a marker line that no pane
   * can forge (a fresh random one per call). When one of them fails (a pane that went away),
   * tmux stops there; then each is run on its own, so each gets its own answer.
   */
  private async flushCaptures(): Promise<void> {
    const batch = this.captures ?? [];
    this.captures = null;
    const alone = (c: PendingCapture) => this.run(c.args).then(c.resolve, c.reject);
    if (batch.length === 1) return alone(batch[0]!);
    const marker = `cf-capture-${randomBytes(12).toString('hex')}`;
    let out: string;
    try {
      out = await this.run(
        batch.flatMap((c, i) => [
          ...(i ? [';'] : []),
          ...c.args,
          ';',
          'display-message',
          '-p',
          marker,
        ]),
      );
    } catch {
      await Promise.all(batch.map(alone));
      return;
    }
    let part: string[] = [];
    let next = 0;
    for (const line of out.split('\n')) {
      if (line !== marker) part.push(line);
      else {
        batch[next++]?.resolve(part.length ? `${part.join('\n')}\n` : '');
        part = [];
      }
    }
    // Fewer markers than captures cannot happen with tmux's exit 0; never leave one waiting.
    await Promise.all(batch.slice(next).map(alone));
  }

  /**
   * Types `text` into a pane literally: it is staged in a uniquely named buffer from stdin
   * (no quoting, no shell), pasted (bracketed when the app asked for it) and deleted; Enter
   * follows separately after `enterDelay`, because an agent swallows an Enter that arrives
   * inside the paste burst.
   */
  async pasteText(
    target: string,
    text: string,
    opts: { enter?: boolean; enterDelay?: number } = {},
  ): Promise<void> {
    const buffer = `cf-${process.pid}-${randomBytes(4).toString('hex')}`;
    const normalised = text.replace(/\r\n?/g, '\n').replace(/\n+$/, '');
    await this.run(['load-buffer', '-b', buffer, '-'], { input: normalised });
    await this.run(['paste-buffer', '-p', '-d', '-b', buffer, '-t', paneTarget(target)]);
    if (opts.enter !== false) {
      await sleep(opts.enterDelay ?? 150);
      await this.sendKeys(target, ['Enter']);
    }
  }

  /**
   * Runs one command per target in a single tmux invocation (`cmd ; cmd ; ...`), so 20
   * panes cost one tmux process instead of 20. tmux skips the rest of the line after a
   * command that fails (a pane that went away meanwhile); then each target's command is run
   * on its own and failures are ignored, so the commands must be safe to repeat.
   */
  async runEach(
    targets: readonly string[],
    command: (target: string) => string[],
    fallback: (target: string) => Promise<unknown> = (t) => this.run(command(t)),
  ): Promise<void> {
    if (!targets.length) return;
    const line = targets.flatMap((t, i) => [
      ...(i ? [';'] : []),
      // tmux reads a lone ';' argument as a command separator; '\\;' is its literal form.
      ...command(t).map((a) => (a === ';' ? '\\;' : a)),
    ]);
    try {
      await this.run(line);
    } catch {
      for (const t of targets) await fallback(t).catch(() => undefined);
    }
  }

  /** A variable of a session's environment (what `new-session -e` set), or null. */
  async sessionEnv(session: string, name: string): Promise<string | null> {
    const res = await run(
      this.bin,
      [...this.baseArgs(), 'show-environment', '-t', `=${session}`, name],
      { reject: false },
    );
    if (res.exitCode !== 0) return null;
    const line = res.stdout.trim();
    return line.startsWith(`${name}=`) ? line.slice(name.length + 1) : null;
  }

  /** Sends key names (`Enter`, `C-c`, `Escape`) to a pane. */
  async sendKeys(target: string, keys: readonly string[]): Promise<void> {
    await this.run(['send-keys', '-t', paneTarget(target), ...keys]);
  }

  /** Sends text as literal keys (`send-keys -l`), for short strings such as `/exit`. */
  async sendLiteral(target: string, text: string): Promise<void> {
    await this.run(['send-keys', '-l', '-t', paneTarget(target), '--', text]);
  }
}

interface PendingCapture {
  args: string[];
  resolve: (out: string) => void;
  reject: (err: unknown) => void;
}

/** `capture-pane` of a pane's last `history` lines, printed, wrapped lines joined. */
function captureArgs(target: string, history: number): string[] {
  return ['capture-pane', '-p', '-J', '-t', paneTarget(target), '-S', `-${history}`];
}

/** An exact-match target for a session's active pane. */
export function paneTarget(target: string): string {
  return target.startsWith('%') || target.startsWith('=') ? target : `=${target}:`;
}
