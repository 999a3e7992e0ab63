// Takes the state lock, says so, and holds it until killed.
import { StateStore } from '../../src/lib/core/state.js';

const [stateDir] = process.argv.slice(2) as [string];
const store = new StateStore(stateDir, { waitFor: 10_000, staleAfter: 2_000 });
await store.locked(async () => {
  process.stdout.write('locked\n');
  // Keep the event loop alive (proper-lockfile's refresh timer is unref'd).
  setInterval(() => undefined, 1000);
  await new Promise(() => undefined);
});
