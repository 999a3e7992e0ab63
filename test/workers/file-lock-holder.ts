// Takes a named lock file (like the tick or swap lock), says so, and holds it until killed.
import { tryLock } from '../../src/lib/core/lock.js';

const [file] = process.argv.slice(2) as [string];
const release = await tryLock(file, { staleAfter: 2_000 });
if (!release) {
  process.stdout.write('busy\n');
  process.exit(1);
}
process.stdout.write('locked\n');
setInterval(() => undefined, 1000);
