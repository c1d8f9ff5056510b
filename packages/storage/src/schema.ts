import { SynodError } from '@synod/types';
import { SCHEMA_KEY, STORAGE_SCHEMA_VERSION } from './keys.js';
import type { KvStore } from './kv/kv-store.js';

/** Writes the schema version into a new store, or checks the one already there. */
export async function ensureSchema(kv: KvStore): Promise<void> {
  const stored = await kv.get(SCHEMA_KEY);
  if (stored === undefined) {
    if ((await kv.entries({ limit: 1 })).length > 0) {
      throw new SynodError(
        'STORAGE_CORRUPT',
        'the database has data but no Synod schema version: it is not a Synod database (wrong folder?)',
      );
    }
    const value = new Uint8Array(4);
    new DataView(value.buffer).setUint32(0, STORAGE_SCHEMA_VERSION);
    await kv.put(SCHEMA_KEY, value, { sync: true });
    return;
  }
  const version = stored.length === 4 ? new DataView(stored.buffer, stored.byteOffset, 4).getUint32(0) : -1;
  if (version !== STORAGE_SCHEMA_VERSION) {
    throw new SynodError(
      'STORAGE_CORRUPT',
      `the database has storage schema version ${version}; this node reads version ${STORAGE_SCHEMA_VERSION}. ` +
        'Use the node release that wrote it, or re-sync into an empty data folder.',
      { details: { version, expected: STORAGE_SCHEMA_VERSION } },
    );
  }
}

/** Decodes stored bytes, turning a decode failure into STORAGE_CORRUPT naming what was read. */
export function decodeStored<T>(bytes: Uint8Array, decode: (b: Uint8Array) => T, what: string): T {
  try {
    return decode(bytes);
  } catch (err) {
    throw new SynodError('STORAGE_CORRUPT', `stored ${what} does not decode: ${(err as Error).message}`, {
      cause: err,
      details: { what },
    });
  }
}
