/**
 * The layer order of src/lib (eslint.config.js, ARCHITECTURE.md): lint fails on an import
 * that points up or sideways, and on a lib import of the command layer.
 */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/env.js';

async function restricted(filePath: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT });
  const [result] = await eslint.lintText(`${code}\nexport const x = y;\n`, { filePath });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('the layers of src/lib', () => {
  it('lets a folder import its own files and lower layers', async () => {
    expect(
      await restricted(
        `${ROOT}/src/lib/swap/new.ts`,
        "import { y } from '../agents/sessions.js';\nimport { z } from './run.js';\nimport { w } from '../core/state.js';",
      ),
    ).toEqual([]);
  });

  it('puts the MCP server on top: it may call every layer, and none may call it', async () => {
    expect(
      await restricted(
        `${ROOT}/src/lib/mcp/new.ts`,
        "import { y } from '../ops/status.js';\nimport { z } from '../schedule/tick.js';",
      ),
    ).toEqual([]);
    expect(
      await restricted(`${ROOT}/src/lib/ops/new.ts`, "import { y } from '../mcp/server.js';"),
    ).toHaveLength(1);
  });

  it.each([
    ['src/lib/core/new.ts', '../agents/screens.js'],
    ['src/lib/agents/new.ts', '../ops/status.js'],
    ['src/lib/agents/new.ts', '../dispatch/delivery.js'],
    ['src/lib/swap/new.ts', '../watch/watch.js'],
    ['src/lib/quota/new.ts', '../schedule/tick.js'],
    ['src/lib/ops/new.ts', '../../commands/status.js'],
    ['src/lib/core/new.ts', '../../cli.js'],
  ])('fails %s importing %s', async (file, spec) => {
    const messages = await restricted(`${ROOT}/${file}`, `import { y } from '${spec}';`);
    expect(messages).toHaveLength(1);
  });

  it('keeps commander out of src/lib', async () => {
    expect(
      await restricted(`${ROOT}/src/lib/ops/new.ts`, "import { y } from 'commander';"),
    ).toHaveLength(1);
  });
});
