/**
 * The process the write-group crash test kills. It opens a node's storage in
 * the folder given as argv[2] and writes heights forever in write groups of
 * argv[3] heights each (as block sync does): per height the block (block
 * store), the state info and a validator set (state store), an application
 * state key and a record under the RPC's prefix — each through its own store
 * and its own `batch` call, all taken into the group's one batch. After each
 * group is written it prints `durable <height>`. With argv[4] = `inside`, it
 * kills itself with SIGKILL inside its third group, after every write of
 * that group was made (and printed `inside <height>`).
 */
import { KEY_PREFIX, openNodeStorage, prefixedKvStore } from '../../src/index.js';
import { makeChain, makeValidators } from '../fixtures.js';

const [, , dataDir, perGroupArg, mode] = process.argv;
if (dataDir === undefined || perGroupArg === undefined)
  throw new Error('usage: group-child <dataDir> <heightsPerGroup> [inside]');
const perGroup = Number(perGroupArg);
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const u64 = (n: number): Uint8Array => {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
};

const storage = await openNodeStorage({ dataDir });
const rpc = prefixedKvStore(storage.kv, Uint8Array.of(KEY_PREFIX.rpc));
const set = makeValidators(4);
say(`ready ${storage.blocks.height()}`);
let prev =
  storage.blocks.height() === 0 ? undefined : await storage.blocks.loadBlock(storage.blocks.height());
for (let group = 1; ; group++) {
  const from = storage.blocks.height() + 1;
  const chain = makeChain(from, perGroup, { txsPerBlock: 2 }, prev);
  await storage.writeGroup(async () => {
    for (const { block, seenCommit } of chain) {
      const h = block.header.height;
      await storage.blocks.saveBlock(block, seenCommit);
      await storage.state
        .batch()
        .putValidatorSet(h + 2, set)
        .putStateInfo({
          height: h,
          appHash: block.header.appHash,
          lastResultsHash: block.header.lastResultsHash,
        })
        .commit();
      await storage.state.appState.batch([{ type: 'put', key: Uint8Array.of(0x4d), value: u64(h) }], {
        sync: true,
      });
      await rpc.put(Uint8Array.of(0x52, ...u64(h)), u64(h));
      if (mode === 'inside' && group === 3 && h === from + perGroup - 1) {
        say(`inside ${h}`);
        process.kill(process.pid, 'SIGKILL');
        await new Promise(() => {});
      }
    }
  });
  prev = chain[chain.length - 1]?.block;
  say(`durable ${storage.blocks.height()}`);
}
