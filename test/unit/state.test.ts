import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StateError } from '../../src/lib/core/errors.js';
import { checkStateHealth, repairState, StateStore } from '../../src/lib/core/state.js';
import { emptyState } from '../../src/lib/core/state-schema.js';
import { tempDir } from '../helpers/env.js';

const LOCK = { waitFor: 2000, staleAfter: 2000 };

describe('StateStore', () => {
  it('gives every empty state its own maps (a change to one never shows in the next)', () => {
    const a = emptyState();
    a.quota.suspects.s1 = {
      account: 'x',
      pattern: null,
      line: null,
      firstSeenAt: '2026-01-01T00:00:00.000Z',
      polls: 1,
    };
    a.quota.logged.s1 = ['fp'];
    const b = emptyState();
    expect(b.quota.suspects).toEqual({});
    expect(b.quota.logged).toEqual({});
    expect(b.sessions).toEqual({});
  });

  it('starts empty, writes version 1 atomically with mode 0600, and keeps the previous copy as .bak', async () => {
    const dir = path.join(tempDir(), 'state');
    const store = new StateStore(dir, LOCK);
    expect(store.read()).toMatchObject({ version: 1, activeAccount: null, sessions: {} });
    expect(fs.existsSync(store.paths.file)).toBe(false);

    await store.update((s) => void (s.activeAccount = 'primary'));
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(store.paths.file).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(store.paths.backup)).toBe(false);
    const first = JSON.parse(fs.readFileSync(store.paths.file, 'utf8'));
    expect(first.version).toBe(1);

    await store.update((s) => void (s.activeAccount = 'backup'));
    expect(store.read().activeAccount).toBe('backup');
    expect(JSON.parse(fs.readFileSync(store.paths.backup, 'utf8')).activeAccount).toBe('primary');
    // No temp files are left behind.
    expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('refuses a corrupt or invalid file, names it, and never overwrites it', async () => {
    const dir = tempDir();
    const store = new StateStore(dir, LOCK);
    fs.writeFileSync(store.paths.file, '{"version": 1, "sessions": {');
    expect(() => store.read()).toThrow(StateError);
    expect(() => store.read()).toThrow(new RegExp(`${store.paths.file}: not valid JSON`));
    await expect(store.update(() => undefined)).rejects.toMatchObject({ exitCode: 2 });
    expect(fs.readFileSync(store.paths.file, 'utf8')).toBe('{"version": 1, "sessions": {');

    fs.writeFileSync(store.paths.file, JSON.stringify({ version: 2 }));
    expect(() => store.read()).toThrow(/invalid state at version: expected version 1/);
    fs.writeFileSync(
      store.paths.file,
      JSON.stringify({ version: 1, sessions: { a: { restarts: 'x' } } }),
    );
    expect(() => store.read()).toThrow(/invalid state at sessions\.a\.restarts/);
    try {
      store.read();
    } catch (err) {
      expect((err as StateError).hint).toContain('doctor --repair');
    }
  });

  it('repair keeps the corrupt copy and restores the backup', async () => {
    const dir = tempDir();
    const store = new StateStore(dir, LOCK);
    await store.update((s) => void (s.activeAccount = 'primary'));
    await store.update((s) => void (s.activeAccount = 'backup'));
    fs.writeFileSync(store.paths.file, 'garbage');
    expect(checkStateHealth(dir)).toMatchObject({ status: 'corrupt', backupUsable: true });

    const res = await repairState(store, new Date('2026-11-24T10:00:00Z'));
    expect(res.action).toBe('restored-backup');
    expect(res.corruptCopy).toBe(`${store.paths.file}.corrupt-2026-11-24T10-00-00-000Z`);
    expect(fs.readFileSync(res.corruptCopy!, 'utf8')).toBe('garbage');
    expect(store.read().activeAccount).toBe('primary');
    expect(checkStateHealth(dir).status).toBe('ok');
    expect((await repairState(store)).action).toBe('none');
  });

  it('repair without a usable backup starts empty but still keeps the corrupt copy', async () => {
    const dir = tempDir();
    const store = new StateStore(dir, LOCK);
    fs.writeFileSync(store.paths.file, '{');
    const res = await repairState(store);
    expect(res.action).toBe('reset-empty');
    expect(fs.readFileSync(res.corruptCopy!, 'utf8')).toBe('{');
    expect(store.read().version).toBe(1);
  });
});
