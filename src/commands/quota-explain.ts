import type { BaseContext } from '../lib/core/context.js';
import type { Output } from '../lib/core/output.js';
import { createClassifier, toVerdictJson, type QuotaExplanation } from '../lib/quota/index.js';
import { explainSettings, readExplainInput, type ExplainSettings } from '../lib/quota/explain.js';
import { explanationText } from '../lib/quota/explain-render.js';
import * as z from '../lib/core/zod.js';
import { defineCommand } from './command.js';

export const quotaExplainOptionsSchema = z.strictObject({
  file: z.optional(z.string()),
  now: z.optional(z.string()),
  tz: z.optional(z.string()),
});

export interface QuotaExplainResult {
  explanation: QuotaExplanation;
  settings: ExplainSettings;
  /** Where the text came from: the file, or stdin. */
  source: string;
}

/** `quota explain [FILE|-] [--now ISO] [--tz ZONE]`: classifies captured pane text. */
export async function quotaExplain(
  opts: z.infer<typeof quotaExplainOptionsSchema>,
  ctx: BaseContext,
): Promise<QuotaExplainResult> {
  const settings = await explainSettings(
    { now: opts.now, tz: opts.tz, config: ctx.configPath },
    ctx.env,
    ctx.cwd,
  );
  const input = await readExplainInput(opts.file, process.stdin, ctx.cwd);
  const classifier = await createClassifier({
    timezone: settings.timezone,
    patterns: settings.patterns,
  });
  const explanation = classifier.classify(input.text, settings.now);
  // The human text shows the notes; the JSON document has no place for them.
  if (ctx.out.opts.json) for (const note of explanation.notes) ctx.out.warn(note);
  return { explanation, settings, source: input.source };
}

async function renderQuotaExplain(r: QuotaExplainResult, out: Output): Promise<void> {
  out.print(await explanationText(r.explanation, r.settings, r.source, out.stdoutColor));
}

export const quotaExplainCommand = defineCommand({
  needsConfig: false,
  schema: quotaExplainOptionsSchema,
  run: quotaExplain,
  render: renderQuotaExplain,
  // The --json document is the verdict alone.
  json: (r) => toVerdictJson(r.explanation),
});
