/**
 * A task file's YAML front matter (README: Task queue): `priority` (an integer, higher goes
 * first) and `session` (pin the task to one session of its project); other keys are allowed
 * and ignored. The block is the `---` fenced text at the very top of the file, parsed with
 * the `yaml` package the config already uses (YAML 1.2, duplicate keys are an error) rather
 * than gray-matter, which would pull in js-yaml 3 (YAML 1.1, where `yes` is a boolean) and
 * a second notion of what a task's front matter means.
 */
import fs from 'node:fs';
import { importCjs } from '../core/interop.js';
import * as z from '../core/zod.js';
import { formatKeyPath, issueText } from '../core/zod.js';

/** What dispatch needs from a task: its order and its pin. */
export interface TaskMeta {
  /** 0 when the front matter does not say. */
  priority: number;
  /** The session the task is pinned to (not yet checked against the config), or null. */
  session: string | null;
}

/** A task file that cannot be dispatched; `reason` is one line naming the field. */
export class TaskFileError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'TaskFileError';
  }
}

const frontMatterSchema = z.looseObject({
  priority: z.optional(z.int({ error: 'expected an integer (higher goes first)' })),
  session: z.optional(
    z.string({ error: 'expected a session name' }).check(z.minLength(1, { error: 'is empty' })),
  ),
});

const OPEN_RE = /^---[ \t]*\r?\n/;
const CLOSE_RE = /^(?:---|\.\.\.)[ \t]*$/m;

export interface SplitTask {
  /** The YAML between the fences, or null when the file has no front matter. */
  block: string | null;
  /** Everything after the closing fence (or the whole text). */
  body: string;
}

/**
 * Splits the front matter off a task's text. Returns null when the text opens a front
 * matter block that does not close within it (the caller reads more of the file, or, for
 * the whole file, reports it).
 */
function splitFrontMatter(text: string, complete = true): SplitTask | null {
  const t = text.startsWith('\ufeff') ? text.slice(1) : text;
  const open = OPEN_RE.exec(t);
  if (!open) return { block: null, body: t };
  const rest = t.slice(open[0].length);
  // The block may be empty: the closing fence can be the very next line.
  const close = CLOSE_RE.exec(rest);
  // In a partial read, a fence at the very end may be the start of a longer line.
  if (!close || (!complete && close.index + close[0].length === rest.length)) return null;
  const nl = rest.indexOf('\n', close.index);
  return {
    block: rest.slice(0, close.index),
    body: nl < 0 ? '' : rest.slice(nl + 1),
  };
}

/** Parses a front matter block into its data; throws TaskFileError naming the field. */
async function parseFrontMatterBlock(block: string): Promise<Record<string, unknown>> {
  const { parse } = await importCjs(() => import('yaml'));
  let raw: unknown;
  try {
    raw = parse(block, { uniqueKeys: true, prettyErrors: true });
  } catch (err) {
    const e = err as Error & { linePos?: Array<{ line: number }> };
    const msg = (e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?\s*$/, '');
    // yaml counts lines from the block; the file has the opening fence above it.
    const line = e.linePos?.[0]?.line;
    throw new TaskFileError(
      `front matter: not valid YAML${line ? ` (line ${line + 1})` : ''}: ${msg}`,
    );
  }
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new TaskFileError('front matter: expected "key: value" lines');
  const parsed = frontMatterSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new TaskFileError(`front matter: ${formatKeyPath(issue.path)}: ${issueText(issue)}`);
  }
  return parsed.data as Record<string, unknown>;
}

function metaOf(data: Record<string, unknown>): TaskMeta {
  return {
    priority: typeof data.priority === 'number' ? data.priority : 0,
    session: typeof data.session === 'string' ? data.session : null,
  };
}

/** How much of a task file the scan reads: enough for any sensible front matter. */
const HEAD_BYTES = 8192;

const decoder = () => new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decode(buf: Uint8Array, complete: boolean): string {
  try {
    // `stream` keeps a character cut in half at the end of a partial read from counting.
    return decoder().decode(buf, { stream: !complete });
  } catch {
    throw new TaskFileError('not valid UTF-8 text');
  }
}

/**
 * Reads what the scan needs from a task file of `size` bytes: its first HEAD_BYTES (the
 * whole file when the front matter runs longer), decoded and parsed. Throws TaskFileError
 * for an empty file, text that is not UTF-8, and front matter that is not valid; a task
 * that is only front matter is empty too, when the head is the whole file.
 */
export async function inspectTaskHead(file: string, size: number): Promise<TaskMeta> {
  if (size === 0) throw new TaskFileError('empty file');
  const fd = fs.openSync(file, 'r');
  let text: string;
  let complete: boolean;
  try {
    const buf = Buffer.allocUnsafe(Math.min(size, HEAD_BYTES));
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    complete = n >= size;
    text = decode(buf.subarray(0, n), complete);
  } finally {
    fs.closeSync(fd);
  }
  let split = splitFrontMatter(text, complete);
  if (!split && !complete) {
    text = decode(fs.readFileSync(file), true);
    complete = true;
    split = splitFrontMatter(text);
  }
  if (!split) throw new TaskFileError("front matter: no closing '---' line");
  const data = split.block === null ? {} : await parseFrontMatterBlock(split.block);
  if (complete && split.body.trim() === '')
    throw new TaskFileError(split.block === null ? 'empty file' : 'empty task: only front matter');
  return metaOf(data);
}

/** Checks a whole task text: UTF-8, front matter, not empty. Throws TaskFileError. */
export async function parseTaskText(
  content: Uint8Array | string,
): Promise<TaskMeta & { body: string; data: Record<string, unknown> }> {
  const text = typeof content === 'string' ? content : decode(content, true);
  if (text.trim() === '') throw new TaskFileError('empty file');
  const split = splitFrontMatter(text);
  if (!split) throw new TaskFileError("front matter: no closing '---' line");
  const data = split.block === null ? {} : await parseFrontMatterBlock(split.block);
  if (split.body.trim() === '') throw new TaskFileError('empty task: only front matter');
  return { ...metaOf(data), body: split.body, data };
}

/** Reads and checks a whole task file (what dispatch does right before handing it out). */
export async function inspectTaskFile(file: string): Promise<TaskMeta> {
  const meta = await parseTaskText(fs.readFileSync(file));
  return { priority: meta.priority, session: meta.session };
}

/**
 * Sets keys in a task text's front matter (adding a block when there is none), keeping the
 * rest of the block, its comments included, as it was.
 */
export async function setFrontMatterKeys(
  text: string,
  keys: Record<string, string | number>,
): Promise<string> {
  if (Object.keys(keys).length === 0) return text;
  const { parseDocument, stringify } = await importCjs(() => import('yaml'));
  const split = splitFrontMatter(text);
  if (!split) throw new TaskFileError("front matter: no closing '---' line");
  if (split.block === null) return `---\n${stringify(keys, { lineWidth: 0 })}---\n${split.body}`;
  const doc = parseDocument(split.block, { uniqueKeys: true });
  if (doc.errors.length)
    throw new TaskFileError(
      `front matter: not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`,
    );
  if (doc.contents === null) return `---\n${stringify(keys, { lineWidth: 0 })}---\n${split.body}`;
  for (const [k, v] of Object.entries(keys)) doc.set(k, v);
  return `---\n${doc.toString({ lineWidth: 0 })}---\n${split.body}`;
}
