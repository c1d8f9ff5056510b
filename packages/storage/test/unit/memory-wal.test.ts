import { isSynodError } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { MemoryConsensusWal } from '../../src/index.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (records: readonly { data: Uint8Array }[] | undefined): string[] | undefined =>
  records?.map((r) => new TextDecoder().decode(r.data));

describe('MemoryConsensusWal', () => {
  it('has the file WAL semantics for markers and records', async () => {
    const wal = new MemoryConsensusWal(4);
    expect(await wal.recordsAfterEndHeight(4)).toEqual([]);
    expect(await wal.recordsAfterEndHeight(5)).toBeUndefined();
    await wal.append(enc('a'));
    await wal.writeEndHeight(5);
    await wal.append(enc('b'));
    expect(dec(await wal.recordsAfterEndHeight(4))).toEqual(['a', 'b']);
    expect(dec(await wal.recordsAfterEndHeight(5))).toEqual(['b']);
  });

  it('a crash keeps synced records and drops the unsynced tail', async () => {
    const wal = new MemoryConsensusWal();
    await wal.append(enc('synced'), { sync: true });
    await wal.append(enc('buffered'));
    await wal.writeEndHeight(1);
    await wal.append(enc('lost-1'));
    await wal.append(enc('lost-2'));
    const restarted = wal.crash();
    expect(dec(await restarted.recordsAfterEndHeight(0))).toEqual(['synced', 'buffered']);
    expect(dec(await restarted.recordsAfterEndHeight(1))).toEqual([]);
    expect(isSynodError(await wal.append(enc('x')).catch((e: unknown) => e), 'STORAGE_CLOSED')).toBe(true);
  });

  it('a crash drops an unsynced end-of-height marker, unless a synced record came after it', async () => {
    const lost = new MemoryConsensusWal();
    await lost.append(enc('h1'), { sync: true });
    await lost.writeEndHeight(1, { sync: false });
    expect(await lost.crash().recordsAfterEndHeight(1)).toBeUndefined();
    const kept = new MemoryConsensusWal();
    await kept.writeEndHeight(1, { sync: false });
    await kept.append(enc('h2'), { sync: true });
    expect(dec(await kept.crash().recordsAfterEndHeight(1))).toEqual(['h2']);
  });

  it('copies record bytes', async () => {
    const wal = new MemoryConsensusWal();
    const data = enc('abc');
    await wal.append(data);
    data[0] = 0x7a;
    expect(dec(await wal.recordsAfterEndHeight(0))).toEqual(['abc']);
  });
});
