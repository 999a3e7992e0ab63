/**
 * Each account's `projects/` is a symlink to one shared transcript tree, so a conversation
 * started on one account resumes on another. Linking merges what was there (never deleting:
 * a clash keeps both copies) and replaces symlinks atomically. Used by `setup` and by swap.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CliError } from '../core/errors.js';

const stamp = (now: Date) => now.toISOString().replace(/[:.]/g, '-');

/**
 * Moves what `from` holds into `to`, file by file. A file whose name is free in `to` is
 * moved; on a clash both copies are kept (the incoming one stays where it was). Empty
 * directories left behind are removed. Returns the clashes.
 */
function mergeTree(from: string, to: string): string[] {
  const clashes: string[] = [];
  const walk = (rel: string) => {
    const src = path.join(from, rel);
    for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
      const r = path.join(rel, entry.name);
      const s = path.join(from, r);
      const d = path.join(to, r);
      if (entry.isDirectory()) {
        if (fs.existsSync(d) && !fs.lstatSync(d).isDirectory()) {
          clashes.push(r);
          continue;
        }
        fs.mkdirSync(d, { recursive: true });
        walk(r);
        try {
          fs.rmdirSync(s); // only succeeds when it is empty
        } catch {
          // something stayed behind (a clash): keep it
        }
      } else if (fs.existsSync(d) || isBrokenLink(d)) {
        clashes.push(r);
      } else {
        fs.renameSync(s, d);
      }
    }
  };
  walk('');
  return clashes;
}

function isBrokenLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Points `link` at `target`, atomically replacing an old symlink. Refuses a real file or dir. */
export function ensureSymlink(link: string, target: string): boolean {
  let st: fs.Stats | null = null;
  try {
    st = fs.lstatSync(link);
  } catch {
    st = null;
  }
  if (st && !st.isSymbolicLink()) {
    throw new CliError(
      `${link} exists and is not a symlink; move it away first, then run setup again`,
      { exitCode: 1 },
    );
  }
  if (st && path.resolve(path.dirname(link), fs.readlinkSync(link)) === target) return false;
  fs.mkdirSync(path.dirname(link), { recursive: true });
  const tmp = `${link}.tmp-${process.pid}`;
  fs.rmSync(tmp, { force: true });
  fs.symlinkSync(target, tmp);
  fs.renameSync(tmp, link);
  return true;
}

/** Links `<configDir>/projects` to the shared tree, merging an existing directory into it. */
export function linkProjects(configDir: string, shared: string, now: Date): string[] {
  const link = path.join(configDir, 'projects');
  const changes: string[] = [];
  let st: fs.Stats | null = null;
  try {
    st = fs.lstatSync(link);
  } catch {
    st = null;
  }
  if (st?.isSymbolicLink()) {
    const current = path.resolve(configDir, fs.readlinkSync(link));
    if (current === shared) return changes;
    // Linked elsewhere: merge that tree's files in, keep the old tree, relink.
    if (fs.existsSync(current) && fs.statSync(current).isDirectory()) {
      const clashes = mergeTree(current, shared);
      changes.push(
        `merged ${current} into ${shared}${clashes.length ? ` (${clashes.length} clashes kept in ${current})` : ''}`,
      );
    }
  } else if (st?.isDirectory()) {
    // Move the directory aside first (atomic), then merge its files into the shared tree.
    const aside = `${link}.pre-setup-${stamp(now)}`;
    fs.renameSync(link, aside);
    const clashes = mergeTree(aside, shared);
    let kept = false;
    try {
      fs.rmdirSync(aside);
    } catch {
      kept = true;
    }
    changes.push(
      `merged ${link} into ${shared}` +
        (kept ? ` (${clashes.length} clashing files kept in ${aside})` : ''),
    );
  } else if (st) {
    throw new CliError(`${link} is a file; move it away first, then run setup again`, {
      exitCode: 1,
    });
  }
  ensureSymlink(link, shared);
  changes.push(`linked ${link} -> ${shared}`);
  return changes;
}
