/** accounts/links: each account's `projects/` is a link to the shared tree; nothing is lost. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureSymlink, linkProjects } from '../../src/lib/accounts/links.js';
import { tempDir } from '../helpers/env.js';

const NOW = new Date('2026-12-04T10:00:00Z');

function write(file: string, text: string) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

describe('linkProjects', () => {
  it('links a fresh account dir, and a second run changes nothing', () => {
    const home = tempDir();
    const shared = path.join(home, 'shared');
    fs.mkdirSync(shared);
    const configDir = path.join(home, 'acct');
    expect(linkProjects(configDir, shared, NOW)).toEqual([
      `linked ${configDir}/projects -> ${shared}`,
    ]);
    expect(fs.readlinkSync(path.join(configDir, 'projects'))).toBe(shared);
    expect(linkProjects(configDir, shared, NOW)).toEqual([]);
  });

  it('merges an existing projects/ dir into the shared tree and keeps both copies of a clash', () => {
    const home = tempDir();
    const shared = path.join(home, 'shared');
    write(path.join(shared, '-src-app', 'a.jsonl'), 'shared a\n');
    const configDir = path.join(home, 'acct');
    write(path.join(configDir, 'projects', '-src-app', 'a.jsonl'), 'account a\n');
    write(path.join(configDir, 'projects', '-src-app', 'b.jsonl'), 'account b\n');

    const changes = linkProjects(configDir, shared, NOW);
    const aside = `${configDir}/projects.pre-setup-2026-12-04T10-00-00-000Z`;
    expect(changes[0]).toBe(
      `merged ${configDir}/projects into ${shared} (1 clashing files kept in ${aside})`,
    );
    expect(fs.readFileSync(path.join(shared, '-src-app', 'b.jsonl'), 'utf8')).toBe('account b\n');
    expect(fs.readFileSync(path.join(shared, '-src-app', 'a.jsonl'), 'utf8')).toBe('shared a\n');
    expect(fs.readFileSync(path.join(aside, '-src-app', 'a.jsonl'), 'utf8')).toBe('account a\n');
    expect(fs.readlinkSync(path.join(configDir, 'projects'))).toBe(shared);
  });

  it('relinks a link that points elsewhere, merging that tree in and keeping it', () => {
    const home = tempDir();
    const shared = path.join(home, 'shared');
    fs.mkdirSync(shared);
    const old = path.join(home, 'old');
    write(path.join(old, '-src-app', 'c.jsonl'), 'old c\n');
    const configDir = path.join(home, 'acct');
    fs.mkdirSync(configDir);
    fs.symlinkSync(old, path.join(configDir, 'projects'));

    expect(linkProjects(configDir, shared, NOW)).toEqual([
      `merged ${old} into ${shared}`,
      `linked ${configDir}/projects -> ${shared}`,
    ]);
    expect(fs.readFileSync(path.join(shared, '-src-app', 'c.jsonl'), 'utf8')).toBe('old c\n');
    expect(fs.existsSync(old)).toBe(true);
  });

  it('refuses a projects file, naming it', () => {
    const home = tempDir();
    const configDir = path.join(home, 'acct');
    write(path.join(configDir, 'projects'), 'not a dir');
    expect(() => linkProjects(configDir, path.join(home, 'shared'), NOW)).toThrow(
      `${configDir}/projects is a file; move it away first, then run setup again`,
    );
  });
});

describe('ensureSymlink', () => {
  it('replaces an old link atomically, reports no change for the same target, refuses a real dir', () => {
    const home = tempDir();
    const link = path.join(home, 'active');
    expect(ensureSymlink(link, path.join(home, 'a'))).toBe(true);
    expect(ensureSymlink(link, path.join(home, 'a'))).toBe(false);
    expect(ensureSymlink(link, path.join(home, 'b'))).toBe(true);
    expect(fs.readlinkSync(link)).toBe(path.join(home, 'b'));
    const dir = path.join(home, 'real');
    fs.mkdirSync(dir);
    expect(() => ensureSymlink(dir, path.join(home, 'a'))).toThrow(/exists and is not a symlink/);
  });
});
