/**
 * Output for humans and machines. stdout carries data (exactly one JSON document under
 * --json); logs, spinners and errors go to stderr. Colour and spinners only for a human
 * at a TTY: never under --json, --quiet, CI or NO_COLOR.
 */
import { redact } from './redact.js';

export interface OutputOptions {
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  color?: boolean;
}

export interface Palette {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

function wrap(open: number, close: number, on: boolean) {
  return (s: string) => (on ? `\u001b[${open}m${s}\u001b[${close}m` : s);
}

function makePalette(on: boolean): Palette {
  return {
    bold: wrap(1, 22, on),
    dim: wrap(2, 22, on),
    red: wrap(31, 39, on),
    green: wrap(32, 39, on),
    yellow: wrap(33, 39, on),
    cyan: wrap(36, 39, on),
  };
}

/** Whether colour is wanted on a stream: --no-color and NO_COLOR win, FORCE_COLOR forces. */
function colorEnabled(
  stream: NodeJS.WriteStream,
  flag: boolean | undefined,
  env = process.env,
): boolean {
  if (flag === false) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY) && env.TERM !== 'dumb';
}

export interface Spinner {
  update(text: string): void;
  succeed(text?: string): void;
  fail(text?: string): void;
  stop(): void;
}

const SILENT_SPINNER: Spinner = { update() {}, succeed() {}, fail() {}, stop() {} };

export class Output {
  readonly stdoutColor: Palette;
  readonly stderrColor: Palette;

  constructor(
    readonly opts: OutputOptions = {},
    private readonly stdout: NodeJS.WriteStream = process.stdout,
    private readonly stderr: NodeJS.WriteStream = process.stderr,
  ) {
    this.stdoutColor = makePalette(!opts.json && colorEnabled(stdout, opts.color));
    this.stderrColor = makePalette(colorEnabled(stderr, opts.color));
  }

  /** Data for stdout (text mode only). */
  print(text: string): void {
    if (this.opts.json) return;
    this.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** The one JSON document of a --json run. */
  printJson(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  info(text: string): void {
    if (this.opts.quiet) return;
    this.stderr.write(`${redact(text)}\n`);
  }

  warn(text: string): void {
    this.stderr.write(`${this.stderrColor.yellow('warning:')} ${redact(text)}\n`);
  }

  debug(text: string): void {
    if (this.opts.verbose) this.stderr.write(`${this.stderrColor.dim(redact(text))}\n`);
  }

  error(text: string): void {
    this.stderr.write(`${this.stderrColor.red('error:')} ${redact(text)}\n`);
  }

  /** Whether a spinner would show: a TTY on stderr, and not --json, --quiet or CI. */
  get interactive(): boolean {
    return Boolean(this.stderr.isTTY) && !this.opts.json && !this.opts.quiet && !process.env.CI;
  }

  /** An ora spinner for humans; a silent stand-in for cron, CI, --json and --quiet. */
  async spinner(text: string): Promise<Spinner> {
    if (!this.interactive) return SILENT_SPINNER;
    const { default: ora } = await import('ora');
    const s = ora({ text, stream: this.stderr, discardStdin: false }).start();
    return {
      update: (t) => void (s.text = t),
      succeed: (t) => void s.succeed(t),
      fail: (t) => void s.fail(t),
      stop: () => void s.stop(),
    };
  }
}
