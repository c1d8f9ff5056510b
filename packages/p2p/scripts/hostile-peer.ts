/**
 * `pnpm --filter @synod/p2p hostile-peer [--seconds 5] [--only name,name] [--profile DIR]`:
 * one hostile peer against a fresh node per attack while an honest peer
 * votes; prints a table per attack (test/hostile/measure.ts says what).
 * `--profile DIR` samples the victim's CPU over each attack, writes
 * `DIR/<attack>.cpuprofile` and prints its top functions and packages.
 */
import '@synod/polyfills';
import { main } from '../test/hostile/measure.js';

await main(process.argv.slice(2));
