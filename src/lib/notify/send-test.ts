/** `notify test`: one test message to every configured sink. */
import { appendEvent, type EventRecord } from '../core/events.js';
import {
  configuredSinks,
  deliver,
  note,
  resolveTarget,
  type NotifyTarget,
  type SinkInfo,
} from './deliver.js';
import { payloadOf, type SinkResult } from './sink.js';

interface TestReport {
  record: EventRecord;
  results: SinkResult[];
  skipped: SinkInfo[];
}

/**
 * `notify test`: sends a `notify.test` event to every configured sink, whatever
 * `notify.events` says and without dedup. Failures are reported, not queued.
 */
export async function sendTest(
  target: NotifyTarget,
  opts: { now?: Date; timeoutMs?: number } = {},
): Promise<TestReport> {
  const { cfg, now: clockNow } = resolveTarget(target);
  const now = opts.now ?? clockNow();
  const sinks = configuredSinks(cfg.notify);
  const record = appendEvent(
    cfg.stateDir,
    'notify.test',
    { message: 'Test notification from claude-failover: this sink works.' },
    { now },
  );
  const payload = payloadOf(record);
  const enabled = sinks.filter((s) => s.enabled);
  const results = await Promise.all(
    enabled.map((s) => deliver(cfg, s.sink, payload, opts.timeoutMs)),
  );
  for (const r of results) {
    if (!r.ok)
      note(
        cfg,
        'notify.failed',
        { for: 'notify.test', eventTs: record.ts, sink: r.sink, error: r.error, queued: false },
        'warn',
        now,
      );
  }
  return { record, results, skipped: sinks.filter((s) => !s.enabled) };
}
