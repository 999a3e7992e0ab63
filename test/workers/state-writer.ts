// Writes a large state over and over until killed, so a SIGKILL lands mid-write.
import { StateStore } from '../../src/lib/core/state.js';

const [stateDir] = process.argv.slice(2) as [string];
const store = new StateStore(stateDir, { waitFor: 10_000, staleAfter: 10_000 });
const filler = 'x'.repeat(2000);
let round = 0;
for (;;) {
  round++;
  await store.update((s) => {
    const st = s as typeof s & { filler?: string[]; round?: number };
    st.round = round;
    st.filler = Array.from({ length: 1500 }, (_, i) => `${round}-${i}-${filler}`);
  });
  if (round === 1) process.stdout.write('ready\n');
}
