#!/usr/bin/env node
/**
 * synod, the Synod command line: keys, queries and transactions over a
 * node's RPC, a local network with a live view, a load generator.
 *
 * A failure prints one line on stderr (`synod: CODE: what is wrong`) and
 * exits with a code that says what kind of failure it was (errors.ts).
 */
import '@synod/polyfills';
import { main } from './program.js';

const code = await main(process.argv.slice(2));
// Exit once stdout and stderr are flushed (open RPC keep-alive sockets must not hold the process).
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
