/**
 * Reading Claude Code transcripts (`<projects>/<encoded cwd>/<id>.jsonl`) from the end.
 *
 * Everything we want from a transcript (the last tool call, the last words, a recent 429)
 * sits near its end, so `scanTranscriptTail` reads backwards (lines-from-end.ts) and stops as
 * soon as it has it, or after `maxBytes` in any case.
 *
 * The line format is internal to Claude Code and changes between versions. Lines are
 * validated loosely with zod: every field is optional, a field of an unexpected type reads as
 * absent, unknown line types and content blocks are ignored, and a line that is not JSON (a torn write, a partial last line) is
 * skipped, never fatal. Nothing here depends on the order in which Claude Code writes its
 * lines: each field is simply taken from the newest line that carries it.
 */
import * as z from '../core/zod.js';
import {
  readLinesFromEnd,
  type ReverseReadOptions,
  type ReverseReadResult,
} from './lines-from-end.js';

/** How far back `scanTranscriptTail` reads at most. */
const DEFAULT_SCAN_MAX_BYTES = 32 * 1024 * 1024;

/** A field that reads as absent when it is missing or of an unexpected type. */
const opt = <T extends z.ZodMiniType>(schema: T) => z.catch(z.optional(schema), undefined);

/**
 * The envelope of a transcript line, as loose as it can be: only the fields we read, all
 * optional; anything else passes through untouched.
 */
const transcriptLineSchema = z.looseObject({
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

type TranscriptLine = z.output<typeof transcriptLineSchema>;

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

interface TimedText {
  text: string;
  at: string | null;
}

/** A turn that ended on an API error: the synthetic assistant line Claude Code writes. */
interface ApiErrorRecord {
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

interface TranscriptTail {
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

type TailField = keyof TranscriptTail;

interface ScanStats extends ReverseReadResult {
  /** Lines that were not JSON objects (torn writes, the partial last line, garbage). */
  skippedLines: number;
  /** Every wanted field was found. */
  complete: boolean;
}

interface ScanOptions extends ReverseReadOptions {
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

const DEFAULT_TAIL_FIELDS: readonly TailField[] = [
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

// Folds one parsed line into `tail`, filling only fields still empty (lines come newest
// first).
function applyTranscriptLine(tail: TranscriptTail, line: TranscriptLine): void {
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
