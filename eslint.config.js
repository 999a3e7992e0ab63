import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/**
 * The layers of src/lib, lowest first (ARCHITECTURE.md explains each). A folder may import
 * its own files and the folders of lower layers, never a folder of its own or a higher layer:
 * core knows nothing of agents, agents nothing of dispatch, and no lib file knows a command.
 */
const LAYERS = [
  ['core'],
  ['queue', 'notify'],
  ['claude'],
  ['accounts'],
  ['agents'],
  ['tasks'],
  ['dispatch'],
  ['swap', 'watch'],
  ['quota'],
  ['schedule'],
  ['ops'],
  ['mcp'],
];

function boundaryRules(folder, rank) {
  const forbidden = LAYERS.slice(rank)
    .flat()
    .filter((f) => f !== folder);
  const patterns = [
    {
      regex: '^(\\.\\./)+(commands/|cli\\.js$|hook-main\\.js$|sim/)',
      message: 'src/lib never imports the command layer (src/commands, src/cli.ts) or src/sim.',
    },
  ];
  if (forbidden.length)
    patterns.push({
      regex: `^\\.\\./(${forbidden.join('|')})/`,
      message: `${folder}/ sits below ${forbidden.join(', ')} (see LAYERS in eslint.config.js and ARCHITECTURE.md)`,
    });
  return {
    files: [`src/lib/${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'commander', message: 'src/lib never imports commander' }],
          patterns,
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-restricted-imports': 'off',
    },
  },
  ...LAYERS.flatMap((folders, rank) => folders.map((f) => boundaryRules(f, rank))),
  {
    // The simulated agent stands in for Claude Code: it may use core helpers and Claude
    // Code's own file formats, nothing of the pool's logic.
    files: ['src/sim/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./(commands/|lib/(?!core/|claude/))',
              message: 'src/sim uses only src/lib/core and src/lib/claude',
            },
          ],
        },
      ],
    },
  },
);
