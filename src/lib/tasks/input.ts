/** The text of a task for `task add`: from a file, or from stdin for `-` or no file. */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../core/errors.js';

/**
 * Reads the task: FILE (its base name is the default id), or stdin for `-` or no FILE.
 * No FILE with a terminal on stdin is a usage error, never a prompt.
 */
export async function readTaskInput(
  file: string | undefined,
): Promise<{ data: Buffer; name?: string }> {
  if (file === undefined || file === '-') {
    if (file === undefined && process.stdin.isTTY)
      throw new UsageError('give the task as a FILE, or - to read it from stdin');
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return { data: Buffer.concat(chunks) };
  }
  try {
    return { data: fs.readFileSync(file), name: path.basename(file) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      `${file}: ${code === 'ENOENT' ? 'no such file' : `cannot read (${code})`}`,
    );
  }
}
