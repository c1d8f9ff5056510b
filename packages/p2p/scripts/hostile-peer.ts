/**
 * `pnpm --filter @synod/p2p hostile-peer [--seconds 5] [--only name,name]`:
 * one hostile peer against a fresh node per attack while an honest peer
 * votes; prints a table per attack (test/hostile/measure.ts says what).
 */
import '@synod/polyfills';
import { main } from '../test/hostile/measure.js';

await main(process.argv.slice(2));
