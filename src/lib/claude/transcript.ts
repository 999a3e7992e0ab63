/**
 * Reading Claude Code transcripts (`<projects>/<encoded cwd>/<id>.jsonl`) from the end.
 *
 * A transcript only grows: a long-lived agent's file reaches hundreds of MB. Everything we
 * want (the last tool call, the last words, a recent 429) sits near the end, so we read
 * backwards in fixed chunks and stop as soon as we have it. The cost depends on how far back
 * the answer is, never on the file's size, and it is bounded by `maxBytes` in any case.
 *
 * The line format is internal to Claude Code and changes between versions
 * (CLAUDE-CODE-FACTS section 2). Lines are validated loosely with zod: every field is
 * optional, a field of an unexpected type reads as absent, unknown line types and content
 * blocks are ignored, and a line that is not JSON (a torn write, a partial last line) is
 * skipped, never fatal. Nothing here depends on the order in which Claude Code writes its
 * lines: each field is simply taken from the newest line that carries it.
 */
import fs from 'node:fs';
import * as z from '../core/zod.js';

export const DEFAULT_CHUNK_SIZE = 64 * 1024;
/** A line longer than this is skipped without being buffered (an image pasted as base64). */
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;
/** How far back `scanTranscriptTail` reads at most. */
export const DEFAULT_SCAN_MAX_BYTES = 32 * 1024 * 1024;

const NEWLINE = 0x0a;

export interface ReverseReadOptions {
  /** Bytes read per step (default 64 KiB). */
  chunkSize?: number;
  /** Stop after reading this many bytes from the end (default: no limit). */
  maxBytes?: number;
  /** Lines longer than this many bytes are skipped and counted (default 16 MiB). */
  maxLineBytes?: number;
  /**
   * Whether to visit a last line that has no newline yet. Claude Code may be writing it at
   * this very moment, so by default it is left out; with `true` it is visited with
   * `terminated: false` and the caller decides (a JSON parse tells a torn line apart).
   */
  partialLast?: boolean;
}

export interface LineInfo {
  /** Byte offset of the line's first byte in the file. */
  offset: number;
  /** Length of the line in bytes, without its line ending. */
  bytes: number;
  /** False only for an unterminated last line (see `partialLast`). */
  terminated: boolean;
}

export interface ReverseReadResult {
  /** The file size when the read started; bytes appended later are not seen. */
  size: number;
  bytesRead: number;
  /** Lines handed to the visitor. */
  lines: number;
  /** Lines skipped for being longer than `maxLineBytes`. */
  skippedLong: number;
  /** The visitor asked to stop. */
  stopped: boolean;
  /** Every line back to the start of the file was seen. */
  reachedStart: boolean;
}

function readFully(fd: number, buf: Buffer, len: number, position: number): number {
  let got = 0;
  while (got < len) {
    const n = fs.readSync(fd, buf, got, len - got, position + got);
    if (n === 0) break; // the file shrank under us: use what we have
    got += n;
  }
  return got;
}

/**
 * Visits the lines of `file` from the last to the first, reading backwards in chunks.
 * `visit` returns `true` to stop. Blank lines are skipped; a trailing `\r` (CRLF) is
 * removed; a UTF-8 character split across two chunks is decoded whole (lines are cut only
 * at the newline byte, which never occurs inside a multi-byte character). Throws the usual
 * fs errors (ENOENT, EACCES) for the caller to handle.
 */
export function readLinesFromEnd(
  file: string,
  visit: (line: string, info: LineInfo) => boolean | void,
  opts: ReverseReadOptions = {},
): ReverseReadResult {
  const chunkSize = Math.max(1, opts.chunkSize ?? DEFAULT_CHUNK_SIZE);
  const maxBytes = opts.maxBytes ?? Number.POSITIVE_INFINITY;
  const maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const result: ReverseReadResult = {
      size,
      bytesRead: 0,
      lines: 0,
      skippedLong: 0,
      stopped: false,
      reachedStart: false,
    };
    const buf = Buffer.allocUnsafe(Math.min(chunkSize, Math.max(size, 1)));
    // The bytes of the line being assembled, right of the current chunk, left to right.
    let carry: Buffer[] = [];
    let carryLen = 0;
    // The current line already passed maxLineBytes: its bytes are dropped as they come.
    let tooLong = false;
    // The first segment found is whatever follows the file's last newline.
    let last = true;
    let pos = size;

    /** Handles one whole line: `head` (from this chunk) followed by `carry`. */
    const emit = (head: Buffer, offset: number): boolean => {
      const bytes = head.length + carryLen;
      const terminated = !last;
      last = false;
      const long = tooLong || bytes > maxLineBytes;
      const parts = carry;
      carry = [];
      carryLen = 0;
      tooLong = false;
      if (bytes === 0 && !long) return false;
      if (!terminated && !opts.partialLast) return false;
      if (long) {
        result.skippedLong++;
        return false;
      }
      let text = (parts.length ? Buffer.concat([head, ...parts]) : head).toString('utf8');
      let lineBytes = bytes;
      if (text.endsWith('\r')) {
        text = text.slice(0, -1);
        lineBytes--;
      }
      if (offset === 0 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      if (!text.trim()) return false;
      result.lines++;
      return visit(text, { offset, bytes: lineBytes, terminated }) === true;
    };

    while (pos > 0 && result.bytesRead < maxBytes) {
      const want = Math.min(buf.length, pos, maxBytes - result.bytesRead);
      const start = pos - want;
      const got = readFully(fd, buf, want, start);
      // The file was truncated while we read (it never is by Claude Code): stop here.
      if (got < want) return result;
      pos = start;
      result.bytesRead += want;
      let end = want;
      while (end > 0) {
        const nl = buf.lastIndexOf(NEWLINE, end - 1);
        if (nl === -1) break;
        if (emit(buf.subarray(nl + 1, end), start + nl + 1)) {
          result.stopped = true;
          return result;
        }
        end = nl;
      }
      // buf[0, end) continues a line whose start lies further left.
      if (end > 0) {
        if (tooLong || carryLen + end > maxLineBytes) {
          tooLong = true;
          carry = [];
          carryLen = 0;
        } else {
          carry.unshift(Buffer.from(buf.subarray(0, end)));
          carryLen += end;
        }
      }
    }
    if (pos === 0) {
      // What is left is the file's first line; it starts at offset 0, so it is whole.
      if (emit(Buffer.alloc(0), 0)) result.stopped = true;
      result.reachedStart = true;
    }
    return result;
  } finally {
    fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------
// Transcript lines

/** A field that reads as absent when it is missing or of an unexpected type. */
const opt = <T extends z.ZodMiniType>(schema: T) => z.catch(z.optional(schema), undefined);

/**
 * The envelope of a transcript line, as loose as it can be: only the fields we read, all
 * optional; anything else passes through untouched.
 */
export const transcriptLineSchema = z.looseObject({
  type: opt(z.string()),
  sessionId: opt(z.string()),
  cwd: opt(z.string()),
  timestamp: opt(z.string()),
  isSidechain: opt(z.boolean()),
  isMeta: opt(z.boolean()),
  isCompactSummary: opt(z.boolean()),
  isApiErrorMessage: opt(z.boolean()),
  apiErrorStatus: opt(z.number()),
  error: opt(z.string()),
  errorDetails: opt(z.string()),
  message: opt(
    z.looseObject({
      role: opt(z.string()),
      model: opt(z.string()),
      content: opt(z.union([z.string(), z.array(z.unknown())])),
    }),
  ),
});

export type TranscriptLine = z.output<typeof transcriptLineSchema>;

const textBlockSchema = z.looseObject({ type: z.literal('text'), text: z.string() });
const toolUseBlockSchema = z.looseObject({
  type: z.literal('tool_use'),
  id: opt(z.string()),
  name: z.string(),
  input: z.optional(z.unknown()),
});

/** Parses one transcript line; null when it is not JSON or not an object. */
export function parseTranscriptLine(line: string): TranscriptLine | null {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return null;
  }
  const parsed = transcriptLineSchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

export interface ToolCall {
  /** `toolu_…`, when present. */
  id: string | null;
  name: string;
  /** The tool's input as Claude sent it (unredacted: summarise and redact before storing). */
  input: unknown;
  /** The line's timestamp. */
  at: string | null;
}

export interface TimedText {
  text: string;
  at: string | null;
}

/** A turn that ended on an API error: the synthetic assistant line Claude Code writes. */
export interface ApiErrorRecord {
  /** What the TUI showed, e.g. `You've hit your session limit · resets 3:45pm`. */
  text: string;
  at: string | null;
  /** `apiErrorStatus`, e.g. 429. */
  status: number | null;
  /** `error`: rate_limit, overloaded, authentication_failed, server_error, … */
  error: string | null;
  /** `errorDetails`, e.g. `429 {"type":"error",…}`. */
  details: string | null;
}

export interface TranscriptTail {
  /** `sessionId` of the newest line that has one (the file name's UUID). */
  claudeSessionId: string | null;
  /** `cwd` of the newest line that has one. */
  cwd: string | null;
  /** The newest `tool_use` block of the main conversation (the last one of its line). */
  lastToolCall: ToolCall | null;
  /** The newest assistant text of the main conversation; API-error lines are not counted. */
  lastAssistantText: TimedText | null;
  /** The newest text the user (or a prompt we pasted) sent; tool results are not counted. */
  lastUserText: TimedText | null;
  /** The newest API-error line of any kind. */
  lastApiError: ApiErrorRecord | null;
  /**
   * The newest usage-limit rejection: an API-error line with status 429 or error
   * `rate_limit` (2.1.x), or the 2025 text `Claude AI usage limit reached|<epoch>`. The
   * text still needs the quota classifier: a transient server throttle is a 429 too.
   */
  lastRateLimit: ApiErrorRecord | null;
  /** The newest timestamp among the lines read. */
  lastTimestamp: string | null;
}

export type TailField = keyof TranscriptTail;

export interface ScanStats extends ReverseReadResult {
  /** Lines that were not JSON objects (torn writes, the partial last line, garbage). */
  skippedLines: number;
  /** Every wanted field was found. */
  complete: boolean;
}

export interface ScanOptions extends ReverseReadOptions {
  /**
   * The fields to look for; the scan stops once all are found (others are filled in when
   * met on the way). Default: the session id, cwd, last tool call, last assistant text and
   * last timestamp. Ask for `lastRateLimit` only with `since`, or the scan reads back to
   * `maxBytes` in a transcript that has none.
   */
  want?: readonly TailField[];
  /**
   * Only lines at or after this time count. Lines are appended roughly in time order, so
   * the scan stops at the first line older than `since - orderSlackMs`. Lines without a
   * timestamp are used and never stop the scan.
   */
  since?: Date | string | null;
  /** Tolerance for lines written slightly out of time order (default 60 s). */
  orderSlackMs?: number;
}

export const DEFAULT_TAIL_FIELDS: readonly TailField[] = [
  'claudeSessionId',
  'cwd',
  'lastToolCall',
  'lastAssistantText',
  'lastTimestamp',
];

const LEGACY_LIMIT_RE = /usage limit reached\|\d{9,}/i;

function contentBlocks(line: TranscriptLine): unknown[] {
  const c = line.message?.content;
  if (typeof c === 'string') return [{ type: 'text', text: c }];
  return Array.isArray(c) ? c : [];
}

function blockTexts(blocks: unknown[]): string {
  const texts: string[] = [];
  for (const b of blocks) {
    const t = textBlockSchema.safeParse(b);
    if (t.success && t.data.text.trim()) texts.push(t.data.text);
  }
  return texts.join('\n');
}

function apiErrorOf(line: TranscriptLine, at: string | null): ApiErrorRecord {
  return {
    text: blockTexts(contentBlocks(line)),
    at,
    status: line.apiErrorStatus ?? null,
    error: line.error ?? null,
    details: line.errorDetails ?? null,
  };
}

function isRateLimit(e: ApiErrorRecord): boolean {
  return e.status === 429 || e.error === 'rate_limit' || LEGACY_LIMIT_RE.test(e.text);
}

function emptyTail(): TranscriptTail {
  return {
    claudeSessionId: null,
    cwd: null,
    lastToolCall: null,
    lastAssistantText: null,
    lastUserText: null,
    lastApiError: null,
    lastRateLimit: null,
    lastTimestamp: null,
  };
}

/**
 * Folds one parsed line into `tail`, filling only fields still empty (lines come newest
 * first). Exported so that a caller reading lines some other way gets the same rules.
 */
export function applyTranscriptLine(tail: TranscriptTail, line: TranscriptLine): void {
  const at = line.timestamp && !Number.isNaN(Date.parse(line.timestamp)) ? line.timestamp : null;
  if (at && (!tail.lastTimestamp || Date.parse(at) > Date.parse(tail.lastTimestamp)))
    tail.lastTimestamp = at;
  if (line.sessionId && !tail.claudeSessionId) tail.claudeSessionId = line.sessionId;
  if (line.cwd && !tail.cwd) tail.cwd = line.cwd;
  // Subagent lines (older versions kept them in the main file) are not the conversation.
  if (line.isSidechain) return;
  const type = line.type ?? line.message?.role;
  if (type === 'assistant') {
    const legacyLimit =
      line.message?.model === '<synthetic>' &&
      LEGACY_LIMIT_RE.test(blockTexts(contentBlocks(line)));
    if (line.isApiErrorMessage || legacyLimit) {
      const err = apiErrorOf(line, at);
      tail.lastApiError ??= err;
      if (!tail.lastRateLimit && isRateLimit(err)) tail.lastRateLimit = err;
      return;
    }
    const blocks = contentBlocks(line);
    if (!tail.lastToolCall) {
      for (let i = blocks.length - 1; i >= 0; i--) {
        const t = toolUseBlockSchema.safeParse(blocks[i]);
        if (t.success) {
          tail.lastToolCall = { id: t.data.id ?? null, name: t.data.name, input: t.data.input, at };
          break;
        }
      }
    }
    if (!tail.lastAssistantText) {
      const text = blockTexts(blocks);
      if (text) tail.lastAssistantText = { text, at };
    }
  } else if (type === 'user') {
    if (tail.lastUserText || line.isMeta || line.isCompactSummary) return;
    const text = blockTexts(contentBlocks(line));
    if (text) tail.lastUserText = { text, at };
  }
}

/**
 * Scans the end of a transcript for what a checkpoint, the quota check or a swap needs
 * (see `TranscriptTail`), reading backwards and stopping as soon as every `want`ed field is
 * found, at `since`, or after `maxBytes` (default 32 MiB). Missing fields are null. Throws
 * the fs errors of opening the file (ENOENT, EACCES).
 *
 * Examples: a checkpoint uses the defaults; the quota check asks
 * `{want: ['lastRateLimit'], since: lastPoll}`.
 */
export function scanTranscriptTail(
  file: string,
  opts: ScanOptions = {},
): TranscriptTail & { stats: ScanStats } {
  const want = opts.want ?? DEFAULT_TAIL_FIELDS;
  const sinceMs =
    opts.since === undefined || opts.since === null
      ? null
      : typeof opts.since === 'string'
        ? Date.parse(opts.since)
        : opts.since.getTime();
  const stopMs = sinceMs === null ? null : sinceMs - (opts.orderSlackMs ?? 60_000);
  const tail = emptyTail();
  let skippedLines = 0;
  const done = () => want.every((f) => tail[f] !== null);

  const res = readLinesFromEnd(
    file,
    (text) => {
      const line = parseTranscriptLine(text);
      if (!line) {
        skippedLines++;
        return false;
      }
      if (sinceMs !== null && line.timestamp) {
        const t = Date.parse(line.timestamp);
        if (!Number.isNaN(t) && t < sinceMs) return stopMs !== null && t < stopMs;
      }
      applyTranscriptLine(tail, line);
      return done();
    },
    {
      chunkSize: opts.chunkSize,
      maxBytes: opts.maxBytes ?? DEFAULT_SCAN_MAX_BYTES,
      maxLineBytes: opts.maxLineBytes,
      // A complete last line without its newline still parses; a torn one does not.
      partialLast: opts.partialLast ?? true,
    },
  );
  return { ...tail, stats: { ...res, skippedLines, complete: done() } };
}
