/**
 * `pnpm --filter @synod/consensus run -s interact FILE` (FILE or `-` for stdin):
 * prints the rendered interaction script (see ../shared/docs/interaction-scripts.md).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { renderScript } from './runner.js';

const file = process.argv[2];
if (file === undefined || process.argv.length > 3) {
  process.stderr.write('usage: interact FILE   (FILE or - for stdin)\n');
  process.exit(2);
}
let text: string;
try {
  // pnpm runs package scripts in the package folder; resolve FILE against the caller's folder.
  text =
    file === '-'
      ? readFileSync(0, 'utf8')
      : readFileSync(resolve(process.env.INIT_CWD ?? process.cwd(), file), 'utf8');
} catch (e) {
  process.stderr.write(`interact: cannot read ${file}: ${(e as Error).message}\n`);
  process.exit(1);
}
process.stdout.write(renderScript(text).output);
