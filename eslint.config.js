// ESLint 9 flat config (https://eslint.org/docs/latest/use/configure/configuration-files) with
// typescript-eslint's recommended rules (https://typescript-eslint.io/getting-started). Formatting is
// prettier's job (.prettierrc.json); these rules are about code, not layout.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    // Generated or not source: build output, test scratch, the rootfs, the syscall tables
    // (scripts/gen-syscalls.mjs writes syscalls.ts), CPU profiles.
    ignores: [
      'node_modules/',
      'dist/',
      'test/.work/',
      'sandbox/rootfs/',
      'sandbox/images/layers/',
      'src/runtime/seccomp/syscalls.ts',
      '**/*.cpuprofile',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: { ...globals.node },
    },
    rules: {
      // `any` is allowed where JSON from the kernel, a registry or a socket is read; each one is shown.
      '@typescript-eslint/no-explicit-any': 'warn',
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
        },
      ],
      // Matching ANSI escape sequences (\x1b[...m) is deliberate: the renderers and tests strip colour.
      'no-control-regex': 'off',
    },
  },
  {
    // CommonJS files (jest's sequencer and reporter are loaded with require()).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
