// Emits one event through the notify API: argv is a JSON NotifySettings, the event name, the
// fields as JSON and the time (ISO), so several processes can emit at once.
import type { NotifySettings } from '../../src/lib/notify/deliver.js';
import { emit } from '../../src/lib/notify/index.js';

const [settings, event, fields, now] = process.argv.slice(2) as [string, string, string, string];
await emit(
  JSON.parse(settings) as NotifySettings,
  event,
  JSON.parse(fields) as Record<string, unknown>,
  {
    now: new Date(now),
    timeoutMs: 3000,
  },
);
process.stdout.write('done\n');
