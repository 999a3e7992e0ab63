// One read-modify-write of state.json under the lock: bump a counter, record this worker's id.
import { StateStore } from '../../src/lib/core/state.js';

const [stateDir, id] = process.argv.slice(2) as [string, string];
const store = new StateStore(stateDir, { waitFor: 120_000, staleAfter: 10_000 });
await store.update((s) => {
  const st = s as typeof s & { testCounter?: number };
  st.testCounter = (st.testCounter ?? 0) + 1;
  s.lastRun[`worker-${id}`] = new Date().toISOString();
});
