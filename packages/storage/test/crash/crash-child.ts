/**
 * The process the crash test kills. It opens a node's storage in the folder
 * given as argv[2], and writes heights forever: a buffered WAL record, a
 * prevote signed through the file signer, a synced WAL record, the block, and
 * the end-of-height marker. After each step is durable it prints one line on
 * stdout (pipes are synchronous on Linux, so a printed line is never lost).
 *
 *   ready <height> <walTruncatedBytes>
 *   signed <h> <r> <step> <signBytesHex> <signatureHex>
 *   refused <h> <r> <code>
 *   walsync <h> <record>
 *   block <h> <hashHex>
 *   endheight <h>
 *   pruning <retainHeight>
 *   pruned <base>
 *
 * argv[3] is the run number (it changes what is signed and the blocks' contents,
 * so that anything lost and redone shows up as a conflict).
 */
import { type Block, blockHash, isSynodError, type SignStep } from '@synod/types';
import { createSigner, openNodeStorage } from '../../src/index.js';
import { CRASH_VALIDATOR_SEED, makeChain } from '../fixtures.js';

const [, , dataDir, runArg] = process.argv;
if (dataDir === undefined || runArg === undefined) throw new Error('usage: crash-child <dataDir> <run>');
const run = Number(runArg);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

const storage = await openNodeStorage({
  dataDir,
  wal: { segmentBytesMax: 256 * 1024, segmentsMax: 4 },
});
const signer = await createSigner(CRASH_VALIDATOR_SEED, storage.signerState);
say(`ready ${storage.blocks.height()} ${storage.walRecovery?.truncatedBytes ?? 0}`);

let prev: Block | undefined =
  storage.blocks.height() === 0 ? undefined : await storage.blocks.loadBlock(storage.blocks.height());
const step: SignStep = 'prevote';

for (let h = storage.blocks.height() + 1; ; h++) {
  // A buffered (unsynced) "proposal" of 1-40 KiB: large writes are the ones a kill can tear.
  await storage.wal.append(enc(`h${h}:run${run}:proposal:${'p'.repeat(1024 * (1 + ((h * 7919) % 40)))}`));
  let round = 0;
  for (;;) {
    const signBytes = enc(`prevote h=${h} r=${round} run=${run}`);
    try {
      const signature = await signer.sign({ height: h, round, step, signBytes });
      say(`signed ${h} ${round} ${step} ${hex(signBytes)} ${hex(signature)}`);
      break;
    } catch (err) {
      if (!isSynodError(err, 'SIGNER_DOUBLE_SIGN') && !isSynodError(err, 'SIGNER_REGRESSION')) throw err;
      say(`refused ${h} ${round} ${err.code}`);
      round++;
    }
  }
  const record = `h${h}:run${run}:vote:r${round}`;
  await storage.wal.append(enc(record), { sync: true });
  say(`walsync ${h} ${record}`);
  const [next] = makeChain(h, 1, { txsPerBlock: 20, txBytes: 250, salt: run }, prev);
  await storage.blocks.saveBlock(next!.block, next!.seenCommit);
  say(`block ${h} ${hex(blockHash(next!.block))}`);
  await storage.wal.writeEndHeight(h);
  say(`endheight ${h}`);
  prev = next!.block;
  if (h % 40 === 0) {
    say(`pruning ${h - 30}`);
    const { base } = await storage.blocks.pruneBlocks(h - 30);
    say(`pruned ${base}`);
  }
}
