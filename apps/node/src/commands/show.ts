/** `init`, `show-validator`, `show-node-id`: the commands that only read or write key files. */
import { peerIdOfNodeKey } from '@synod/p2p';
import { PUB_KEY_TYPE } from '../genesis.js';
import { resolveHome } from '../home.js';
import { loadConfig, readNodeKey, readValidatorKey } from '../home-files.js';
import { init } from './init.js';

export async function runInit(o: { home?: string; chainId: string; moniker?: string }): Promise<void> {
  const home = resolveHome(o.home);
  const { validatorAddress } = await init({
    home,
    chainId: o.chainId,
    ...(o.moniker === undefined ? {} : { moniker: o.moniker }),
  });
  process.stdout.write(
    `initialized ${home} for chain ${o.chainId} (validator ${validatorAddress}); start it with: synodd start --home ${home}\n`,
  );
}

export async function runShowValidator(o: { home?: string }): Promise<void> {
  const home = resolveHome(o.home);
  const key = await readValidatorKey(home, await loadConfig(home));
  process.stdout.write(
    `${JSON.stringify({ type: PUB_KEY_TYPE, value: Buffer.from(key.publicKey).toString('base64') })}\n`,
  );
}

export async function runShowNodeId(o: { home?: string }): Promise<void> {
  const home = resolveHome(o.home);
  const key = await readNodeKey(home, await loadConfig(home));
  process.stdout.write(`${(await peerIdOfNodeKey(key)).toString()}\n`);
}
