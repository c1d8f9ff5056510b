import { describe, expect, it } from 'vitest';
import { type Life, SimDisk } from '../src/index.js';

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function life(id: number): Life & { readonly kills: string[] } {
  const kills: string[] = [];
  const l: Life & { readonly kills: string[] } = {
    id,
    alive: true,
    crashPoint: undefined,
    kills,
    kill(reason) {
      l.alive = false;
      kills.push(reason);
    },
  };
  return l;
}

/** Whether `p` settles within a few turns of the event loop. */
async function settles(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  for (let i = 0; i < 5; i++) await settle();
  return done;
}

const key = Uint8Array.of(0x7f, 1);
const value = Uint8Array.of(9, 9);

describe('simulated disk', () => {
  it('a crash point before a write kills the incarnation without applying it; the write never completes', async () => {
    const disk = await SimDisk.create();
    const a = life(1);
    const storage = await disk.open(a);
    a.crashPoint = { countdown: 0, applyFirst: false };
    expect(await settles(storage.kv.put(key, value))).toBe(false);
    expect(a.kills).toEqual(['crash point, before a write']);
    expect(await disk.kv.get(key)).toBeUndefined();
  });

  it('a crash point after a write applies it, then kills; countdown lets writes through first', async () => {
    const disk = await SimDisk.create();
    const a = life(1);
    const storage = await disk.open(a);
    a.crashPoint = { countdown: 1, applyFirst: true };
    await storage.kv.put(Uint8Array.of(0x7f, 0), value);
    expect(a.alive).toBe(true);
    expect(await settles(storage.kv.put(key, value))).toBe(false);
    expect(a.kills).toEqual(['crash point, after a write']);
    expect(await disk.kv.get(key)).toEqual(value);
  });

  it("a dead incarnation's reads and writes freeze; the next one reads what the disk kept", async () => {
    const disk = await SimDisk.create();
    const a = life(1);
    const first = await disk.open(a);
    await first.kv.put(key, value);
    a.kill('power cut');
    expect(await settles(first.kv.get(key))).toBe(false);
    expect(await settles(first.kv.put(key, Uint8Array.of(1)))).toBe(false);
    const second = await disk.open(life(2));
    expect(await second.kv.get(key)).toEqual(value);
  });

  it('a crash keeps only the WAL records that were synced', async () => {
    const disk = await SimDisk.create();
    const storage = await disk.open(life(1));
    await storage.wal.append(Uint8Array.of(1), { sync: true });
    await storage.wal.append(Uint8Array.of(2));
    disk.crash();
    const after = await disk.open(life(2));
    const records = await after.wal.recordsAfterEndHeight(0);
    expect(records?.map((r) => [...r.data])).toEqual([[1]]);
  });

  it('the WAL tap sees every record and end of height written', async () => {
    const disk = await SimDisk.create();
    const seen: string[] = [];
    const storage = await disk.open(life(1), {
      onWalAppend: (d) => seen.push(`record ${d.length}`),
      onWalEndHeight: (h) => seen.push(`end ${h}`),
    });
    await storage.wal.append(Uint8Array.of(1, 2, 3));
    await storage.wal.writeEndHeight(1);
    expect(seen).toEqual(['record 3', 'end 1']);
  });
});
