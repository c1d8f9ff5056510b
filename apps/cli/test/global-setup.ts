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
  execFileSync(process.execPath, [tsc, '-b', app], { stdio: 'inherit' });
}
