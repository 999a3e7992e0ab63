/** Finds files shipped with the package (config.example.yaml, the demo agent), wherever the bundle lives. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The directory holding claude-failover's package.json. */
function packageRoot(): string {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        if (
          (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'claude-failover'
        ) {
          return (cached = dir);
        }
      } catch {
        // keep looking
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the claude-failover package root');
    dir = up;
  }
}

export function packageFile(...parts: string[]): string {
  return path.join(packageRoot(), ...parts);
}

/**
 * The argv that runs this install's CLI without a PATH lookup: the node running us
 * (`process.execPath`, absolute, whichever version manager put it there) and the real path
 * of the package's `bin/claude-failover.js` (an `npm link`ed or globally installed bin is a
 * symlink to it).
 */
export function cliArgv(): [node: string, script: string] {
  const script = packageFile('bin', 'claude-failover.js');
  let real = script;
  try {
    real = fs.realpathSync(script);
  } catch {
    // Not there (a bundle moved without its bin/): the path still says what was meant.
  }
  return [process.execPath, real];
}
