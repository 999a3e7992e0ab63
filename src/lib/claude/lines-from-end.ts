/**
 * Reading a file's lines from the last to the first, in fixed chunks. A Claude Code
 * transcript only grows (a long-lived agent's reaches hundreds of MB) and what we want sits
 * near its end, so the cost depends on how far back the answer is, never on the file's size.
 */
import fs from 'node:fs';

const DEFAULT_CHUNK_SIZE = 64 * 1024;
/** A line longer than this is skipped without being buffered (an image pasted as base64). */
const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

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
