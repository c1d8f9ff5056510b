/**
 * Builds the binaries the e2e tests spawn (dist/cli.js, synodd's dist/cli.js
 * and the packages they import): `tsc -b`, incremental, so a no-op when
 * nothing changed.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const app = fileURLToPath(new URL('..', import.meta.url));
  // synodd is spawned, not imported: built on its own (the CLI's tsconfig does not reference it).
  execFileSync(process.execPath, [tsc, '-b', app, `${app}/../node`], { stdio: 'inherit' });
}
