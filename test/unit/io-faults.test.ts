import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/lib/core/errors.js';
import {
  ioFaultError,
  skipSecondaryWrite,
  takeSkippedWrites,
  withPath,
} from '../../src/lib/core/io-faults.js';
import { formatSize } from '../../src/lib/core/units.js';

function errno(code: string, syscall: string, file?: string, dest?: string): Error {
  return Object.assign(new Error(`${code}: boom, ${syscall}`), {
    code,
    syscall,
    ...(file ? { path: file } : {}),
    ...(dest ? { dest } : {}),
  });
}

describe('ioFaultError', () => {
  it('names the file, the operation and the fault, with exit 74 and a stateDir hint', () => {
    const e = ioFaultError(errno('ENOSPC', 'write', '/s/state.json'), { stateDir: '/s' })!;
    expect(e.message).toBe('cannot write /s/state.json: no space left on device (ENOSPC)');
    expect(e.exitCode).toBe(EXIT.IO);
    expect(e.hint).toBe('free space on the filesystem of stateDir /s (df -h /s)');
  });

  it('says stateDir is read-only for a file under it, and names the dir elsewhere', () => {
    const inState = ioFaultError(errno('EROFS', 'mkdir', '/s/a/b.lock'), { stateDir: '/s' })!;
    expect(inState.message).toBe(
      'cannot create directory /s/a/b.lock: read-only file system (EROFS)',
    );
    expect(inState.hint).toMatch(/^stateDir is read-only: remount \/s read-write/);
    const other = ioFaultError(errno('EROFS', 'open', '/q/inbox/t.md'), { stateDir: '/s' })!;
    expect(other.hint).toMatch(/^\/q\/inbox is on a read-only filesystem/);
  });

  it('names the user a directory is not writable by, and adds what it meant', () => {
    const e = ioFaultError(errno('EACCES', 'open', '/q/inbox/t.md'), {
      outcome: 'nothing was queued',
    })!;
    expect(e.message).toBe(
      'cannot open /q/inbox/t.md: permission denied (EACCES); nothing was queued',
    );
    expect(e.hint).toMatch(/^\/q\/inbox is not writable by user \S+/);
  });

  it('leaves anything that is not a filesystem fault alone', () => {
    expect(ioFaultError(errno('ENOENT', 'open', '/x'))).toBeNull();
    expect(ioFaultError(new Error('plain'))).toBeNull();
    expect(ioFaultError('text')).toBeNull();
  });

  it('names the real file instead of the hidden temp file, or of none', () => {
    const tmp = errno('ENOSPC', 'rename', '/s/.state.json.tmp-1-ab', '/s/state.json');
    expect(ioFaultError(withPath(tmp, '/s/state.json', '/s/.state.json.tmp-1-ab'))!.message).toBe(
      'cannot rename /s/state.json: no space left on device (ENOSPC)',
    );
    const noPath = errno('EIO', 'fsync');
    expect(ioFaultError(withPath(noPath, '/s/x.json'))!.message).toBe(
      'cannot sync /s/x.json: input/output error (EIO)',
    );
  });
});

describe('skipSecondaryWrite', () => {
  it('swallows a fault, counts it per file, and reports each file once', () => {
    takeSkippedWrites();
    skipSecondaryWrite('event log', '/s/events.jsonl', errno('ENOSPC', 'write'));
    skipSecondaryWrite('event log', '/s/events.jsonl', errno('ENOSPC', 'write'));
    skipSecondaryWrite('checkpoint', '/s/cp', errno('EROFS', 'open'));
    expect(takeSkippedWrites()).toEqual([
      'could not write the event log /s/events.jsonl (2 times): no space left on device (ENOSPC); the main effect of the command happened',
      'could not write the checkpoint /s/cp: read-only file system (EROFS); the main effect of the command happened',
    ]);
    expect(takeSkippedWrites()).toEqual([]);
  });

  it('leaves out a fault the run has reported already', () => {
    skipSecondaryWrite('event log', '/s/events.jsonl', errno('ENOSPC', 'write'));
    skipSecondaryWrite('status file', '/q/status.json', errno('EACCES', 'open'));
    expect(takeSkippedWrites(new Set(['ENOSPC']))).toEqual([
      'could not write the status file /q/status.json: permission denied (EACCES); the main effect of the command happened',
    ]);
    expect(takeSkippedWrites()).toEqual([]);
  });

  it('throws anything else again', () => {
    const bug = new TypeError('a bug');
    expect(() => skipSecondaryWrite('event log', '/s/e', bug)).toThrow(bug);
    expect(takeSkippedWrites()).toEqual([]);
  });
});

describe('formatSize', () => {
  it('uses binary multiples, one decimal below 10', () => {
    expect(formatSize(512)).toBe('512B');
    expect(formatSize(300 * 1024)).toBe('300KB');
    expect(formatSize(1.5 * 1024 ** 3)).toBe('1.5GB');
    expect(formatSize(100 * 1024 ** 2)).toBe('100MB');
  });
});
