/** `task add`: a new task file in a project's inbox/, written atomically and exclusively. */
import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../core/context.js';
import { UsageError } from '../core/errors.js';
import { logEvent } from '../core/events.js';
import { tempPathFor } from '../core/fs-atomic.js';
import { ioFaultError, withPath } from '../core/io-faults.js';
import { parseTaskText, setFrontMatterKeys, TaskFileError } from '../queue/front-matter.js';
import { queuePaths, taskIdProblem, taskPath } from '../queue/files.js';
import { assertTaskId, pinProblem, projectByName } from './locate.js';

interface AddOptions {
  /** `--id`; default: from `sourceName`, else a timestamp and a slug of the first line. */
  id?: string;
  /** The file the text came from (its name gives the default id). */
  sourceName?: string;
  priority?: number;
  session?: string;
}

export interface AddResult {
  task: string;
  project: string;
  path: string;
  priority: number;
  session: string | null;
}

function slugOf(text: string): string {
  const line =
    text
      .split('\n')
      .map((l) => l.replace(/^#+\s*/, '').trim())
      .find((l) => l) ?? '';
  const slug = line
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return slug || 'task';
}

/** `d` as `YYYYMMDD-HHMMSS` (UTC), for file names. */
export function stamp(d: Date): string {
  return d
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace(/[-:]/g, '')
    .replace('T', '-');
}

/**
 * `task add`: validates the text (UTF-8, front matter, a known pin, not empty), sets
 * `priority` / `session` in its front matter when given, and writes it into `inbox/`
 * atomically and exclusively: a hidden temp file, then a hard link to `<id>.md` that fails
 * rather than overwrite. An explicit id that is taken is a usage error; a derived one gets a
 * `-2`, `-3`, ... suffix, also when that id is already in done/ or failed/. Errors name the
 * field and exit 2.
 */
export async function addTask(
  ctx: Context,
  projectName: string,
  content: Uint8Array,
  opts: AddOptions = {},
): Promise<AddResult> {
  const project = projectByName(ctx.config, projectName);
  const source = opts.sourceName ?? 'stdin';
  if (opts.id !== undefined) assertTaskId(opts.id, '--id');
  if (opts.session !== undefined) {
    const problem = pinProblem(ctx.config, project.name, opts.session);
    if (problem) throw new UsageError(`--session: ${problem}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(content);
  } catch {
    throw new UsageError(`${source}: not valid UTF-8 text`);
  }
  const keys: Record<string, string | number> = {};
  if (opts.priority !== undefined) keys.priority = opts.priority;
  if (opts.session !== undefined) keys.session = opts.session;
  let meta;
  try {
    text = await setFrontMatterKeys(text, keys);
    meta = await parseTaskText(text);
  } catch (err) {
    if (err instanceof TaskFileError) throw new UsageError(`${source}: ${err.reason}`);
    throw err;
  }
  if (meta.session !== null) {
    const problem = pinProblem(ctx.config, project.name, meta.session);
    if (problem) throw new UsageError(`${source}: front matter: session: ${problem}`);
  }

  const q = queuePaths(project.path);
  fs.mkdirSync(q.inbox, { recursive: true });
  let base = opts.id;
  if (base === undefined && opts.sourceName) {
    base = path.basename(opts.sourceName).replace(/\.md$/i, '').replace(/^\.+/, '');
    if (taskIdProblem(base)) base = undefined;
  }
  base ??= `${stamp(ctx.clock.now())}-${slugOf(meta.body)}`;
  const file = path.join(q.inbox, `${base}.md`);
  const tmp = tempPathFor(file);
  try {
    fs.writeFileSync(tmp, text, { flag: 'wx', mode: 0o644 });
  } catch (err) {
    // Nothing is queued: name the task file, not the hidden temp file.
    fs.rmSync(tmp, { force: true });
    throw ioFaultError(withPath(err, file, tmp), { outcome: 'nothing was queued' }) ?? err;
  }
  try {
    for (let n = 1; ; n++) {
      const id = n === 1 ? base : `${base}-${n}`;
      const dest = path.join(q.inbox, `${id}.md`);
      try {
        fs.linkSync(tmp, dest);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (opts.id !== undefined)
          throw new UsageError(`--id: inbox of ${project.name} already has a task '${id}'`);
        if (n > 1000) throw err;
        continue;
      }
      // A derived id names one task for good: one already done or failed (a fast agent can
      // finish a task within the second its id was stamped) is taken too. The link above
      // claimed the inbox name, so a task of that id is elsewhere by now if it exists at all.
      if (
        opts.id === undefined &&
        (['done', 'failed'] as const).some((f) => fs.existsSync(taskPath(project.path, f, id)))
      ) {
        fs.unlinkSync(dest);
        continue;
      }
      logEvent(ctx, 'task.added', {
        task: id,
        project: project.name,
        priority: meta.priority,
        session: meta.session,
        path: dest,
      });
      return {
        task: id,
        project: project.name,
        path: dest,
        priority: meta.priority,
        session: meta.session,
      };
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
