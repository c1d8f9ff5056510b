// The README's example, verbatim (test/unit/readme.test.ts checks that and runs it).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSigner, openNodeStorage } from '@synod/storage';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const dataDir = await mkdtemp(join(tmpdir(), 'synod-example-'));
const storage = await openNodeStorage({ dataDir }); // db/, wal/, signer-state.json

// The consensus WAL: the node's own signed messages are fsync'd before they are sent.
await storage.wal.append(text('proposal received at height 1'));
await storage.wal.append(text('my prevote at height 1'), { sync: true });
await storage.wal.writeEndHeight(1);
await storage.wal.append(text('proposal received at height 2'), { sync: true });
const replay = await storage.wal.recordsAfterEndHeight(1);
console.log('records to replay after height 1:', replay?.length);

// The signer persists what it signs before it returns the signature.
const signer = await createSigner(new Uint8Array(32).fill(1), storage.signerState);
const request = { height: 2, round: 0, step: 'prevote', signBytes: text('vote for block A') } as const;
const signature = await signer.sign(request);
const again = await signer.sign(request);
console.log('identical bytes, same signature:', Buffer.from(again).equals(Buffer.from(signature)));
const conflict = await signer
  .sign({ ...request, signBytes: text('vote for block B') })
  .catch((e: Error) => e);
console.log(
  'conflicting vote refused:',
  conflict instanceof Error && 'code' in conflict ? conflict.code : 'no',
);

// Application state and where it stands, in one atomic batch.
await storage.state
  .batch()
  .putAppState(text('balance/alice'), text('100'))
  .putStateInfo({ height: 1, appHash: new Uint8Array(32), lastResultsHash: new Uint8Array(32) })
  .commit();
console.log('alice:', new TextDecoder().decode(await storage.state.appState.get(text('balance/alice'))));

const usage = await storage.diskUsage();
console.log('WAL bytes on disk:', usage.wal);
await storage.close();
await rm(dataDir, { recursive: true, force: true });
