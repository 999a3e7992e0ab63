/**
 * Pane text preparation: normalisation (ANSI, NBSP, separator and quote variants) and the
 * joining of wrapped physical lines into logical lines, keeping where each piece came from.
 */

// CSI, OSC and two-character escape sequences. Captures are usually plain already.
const ANSI =
  // eslint-disable-next-line no-control-regex
  /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]/g;
const ODD_SPACES = /[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\t]/g;
// Zero-width characters and emoji variation selectors ('⚠️').
const ZERO_WIDTH = /[\u200b-\u200d\u2060\ufeff]|\ufe0e|\ufe0f/g;
// Claude Code used '∙' (2025) and '·' (2026); terminals and pastes add more look-alikes.
const SEPARATORS = /[\u2219\u22c5\u2022\u2027\u30fb\u00b7]/g;
const SINGLE_QUOTES = /[\u2018\u2019\u02bc\u2032\u00b4]/g;
const DOUBLE_QUOTES = /[\u201c\u201d\u201e\u2033]/g;
const HYPHENS = /[\u2010\u2011\u2012]/g;

/** Normalises one capture: no escapes, plain spaces, one separator and plain quotes. */
export function normalizeText(text: string): string {
  return text
    .replace(ANSI, '')
    .replace(/\r\n?/g, '\n')
    .replace(ZERO_WIDTH, '')
    .replace(ODD_SPACES, ' ')
    .replace(SEPARATORS, '·')
    .replace(SINGLE_QUOTES, "'")
    .replace(DOUBLE_QUOTES, '"')
    .replace(HYPHENS, '-');
}

/** A physical line that belongs to a logical line. */
export interface Segment {
  /** 1-based line number in the input. */
  lineNumber: number;
  /** Offset of this segment inside the logical line's text. */
  start: number;
  /** The segment's text (trimmed at the end, leading space kept). */
  text: string;
}

/** Wrapped physical lines joined into one; segments say where each piece came from. */
export interface LogicalLine {
  text: string;
  segments: Segment[];
}

/** Longest physical line examined; anything past it is cut (bounds regex work). */
const MAX_LINE = 4000;
const MAX_SEGMENTS = 6;

/**
 * A continuation starts indented with a letter, digit or bracket: that is how Claude Code
 * wraps a long message (`Your limit will reset \n     at 3pm (...)`). A line that starts
 * with a glyph (⎿ ● ✻ ❯ > │ ─ ...) begins a new item.
 */
function isContinuation(prev: string | undefined, cur: string): boolean {
  if (prev === undefined || prev.trim() === '') return false;
  return /^\s+[\p{L}\p{N}("'/$]/u.test(cur);
}

/** Splits normalised text into logical lines. */
export function logicalLines(normalized: string): LogicalLine[] {
  const physical = normalized.split('\n');
  const out: LogicalLine[] = [];
  let current: LogicalLine | undefined;
  for (let i = 0; i < physical.length; i++) {
    const raw = physical[i]!.slice(0, MAX_LINE).replace(/\s+$/, '');
    const join =
      current !== undefined &&
      current.segments.length < MAX_SEGMENTS &&
      current.text.length < MAX_LINE &&
      isContinuation(physical[i - 1], raw);
    if (join && current) {
      const piece = raw.trimStart();
      current.text += ' ';
      current.segments.push({ lineNumber: i + 1, start: current.text.length, text: piece });
      current.text += piece;
      continue;
    }
    if (raw.trim() === '') {
      current = undefined;
      continue;
    }
    current = { text: raw, segments: [{ lineNumber: i + 1, start: 0, text: raw }] };
    out.push(current);
  }
  return out;
}

/** The segment holding a character offset of a logical line. */
export function segmentAt(line: LogicalLine, offset: number): Segment {
  let found = line.segments[0]!;
  for (const s of line.segments) if (s.start <= offset) found = s;
  return found;
}

/** Readable text of a span of a logical line: the whole segments it touches, spaces collapsed. */
export function spanText(line: LogicalLine, from: number, to: number): string {
  const first = segmentAt(line, from);
  const last = segmentAt(line, Math.max(from, to - 1));
  const end = last.start + last.text.length;
  return collapse(line.text.slice(first.start, end));
}

export function collapse(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/**
 * The last `n` lines of a capture, ignoring the blank lines tmux pads a pane with. This is
 * the window `quota check` scans (`quota.scanLines`).
 */
export function lastLines(text: string, n: number): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  while (lines.length && lines[lines.length - 1]!.trim() === '') lines.pop();
  return lines.slice(Math.max(0, lines.length - n)).join('\n');
}
