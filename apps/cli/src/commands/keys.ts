/**
 * `synod keys add|list|show|import|export|delete`.
 */
import { readFile } from 'node:fs/promises';
import { isCryptoError, type KeyPair, readKeyFile, toHex } from '@synod/crypto';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { checkHdPath, checkMnemonic, deriveKeyPair, hdPath, newMnemonic } from '../keys/hd.js';
import {
  checkKeyName,
  type ExportedKey,
  exportKey,
  importExported,
  type KeyInfo,
  Keyring,
  type KeyringBackend,
  parseBackend,
} from '../keys/keyring.js';
import { prompter } from '../keys/prompt.js';
import { colors, emit, kvTable, type OutputFormat, parseOutput, table } from '../output.js';
import { integerArg } from '../values.js';

export interface KeyringOptions {
  keyringBackend: KeyringBackend;
  keyringDir?: string;
}

/** Adds --keyring-backend and --keyring-dir to a command. */
export function keyringOptions(cmd: Command): Command {
  return cmd
    .option(
      '--keyring-backend <backend>',
      'file (passphrase-encrypted) or test (unencrypted); default $SYNOD_KEYRING_BACKEND or file',
      parseBackend,
    )
    .option('--keyring-dir <dir>', 'the keyring folder (default $SYNOD_HOME/keyring-<backend>, ~/.synod/…)');
}

export function openKeyring(o: { keyringBackend?: KeyringBackend; keyringDir?: string }): Keyring {
  const env = process.env.SYNOD_KEYRING_BACKEND;
  const backend = o.keyringBackend ?? (env !== undefined && env !== '' ? parseBackend(env) : 'file');
  return new Keyring(backend, o.keyringDir);
}

/** The key pair of `name` (asks for the passphrase of a `file` keyring). */
export function loadKey(ring: Keyring, name: string): Promise<KeyPair> {
  return ring.keyPair(name, () => prompter().secret(`Enter the keyring passphrase of ${name}: `));
}

/** Several keys: one row each (the public key is in `keys show` and in JSON). */
const infoRows = (keys: readonly KeyInfo[]): string =>
  table(
    ['name', 'address', 'source'],
    keys.map((k) => [k.name, k.address, k.hdPath === undefined ? k.source : `${k.source} ${k.hdPath}`]),
  );

/** One key, a row per field. */
const infoTable = (k: KeyInfo): string =>
  kvTable([
    ['name', k.name],
    ['address', k.address],
    ['public key', k.publicKey],
    ['source', k.source],
    ...(k.hdPath === undefined ? [] : [['hd path', k.hdPath] as const]),
  ]);

async function newPassphrase(ring: Keyring): Promise<string | undefined> {
  if (ring.backend === 'test') return undefined;
  const p = await prompter().secret('Enter a passphrase to encrypt the key (at least 8 characters): ', true);
  if (p.length < 8) throw new CliError('USAGE', 'the passphrase must have at least 8 characters');
  return p;
}

export function registerKeys(program: Command): void {
  const keys = program
    .command('keys')
    .description('manage the keys that sign transactions (a keyring folder, mode 0700)')
    .addHelpText(
      'after',
      '\nExamples:\n  synod keys add alice\n  synod keys list --keyring-backend test\n  synod keys show alice --address',
    );

  keyringOptions(
    keys
      .command('add <name>')
      .description('create a key from a new 24-word BIP-39 mnemonic, or recover one (--recover)')
      .option('--recover', 'read an existing mnemonic (prompt, or one line of stdin) instead of making one')
      .option('--account <n>', 'the account level of the HD path', integerArg('--account'), 0)
      .option('--index <n>', 'the address index of the HD path', integerArg('--index'), 0)
      .option('--hd-path <path>', "the full SLIP-0010 path (default m/44'/118'/<account>'/0'/<index>')")
      .option('--no-backup', 'do not print the new mnemonic')
      .option('--overwrite', 'replace a key of the same name')
      .option('-o, --output <format>', 'text or json', parseOutput, 'text')
      .addHelpText(
        'after',
        "\nExamples:\n  synod keys add alice\n  echo 'word1 … word24' | synod keys add bob --recover --keyring-backend test",
      ),
  ).action(
    async (
      name: string,
      o: KeyringOptions & {
        recover?: boolean;
        account: number;
        index: number;
        hdPath?: string;
        backup: boolean;
        overwrite?: boolean;
        output: OutputFormat;
      },
    ) => {
      checkKeyName(name);
      const ring = openKeyring(o);
      if (!o.overwrite && (await ring.has(name)))
        throw new CliError(
          'KEY_EXISTS',
          `a key named ${name} already exists in ${ring.dir} (delete it first, or pick another name)`,
        );
      const path = o.hdPath === undefined ? hdPath(o.account, o.index) : checkHdPath(o.hdPath);
      const mnemonic = o.recover
        ? checkMnemonic(await prompter().secret('Enter your BIP-39 mnemonic: '))
        : newMnemonic();
      const kp = deriveKeyPair(mnemonic, path);
      const passphrase = await newPassphrase(ring);
      const info = await ring.add(name, kp, { source: 'mnemonic', hdPath: path }, passphrase, {
        overwrite: o.overwrite === true,
      });
      const showMnemonic = !o.recover && o.backup;
      emit(o.output, { ...info, ...(showMnemonic ? { mnemonic } : {}) }, () =>
        [
          infoTable(info),
          ...(showMnemonic
            ? [
                '',
                colors.yellow(
                  '**Important** write this mnemonic down and keep it safe: it is the only way to recover the key.',
                ),
                '',
                mnemonic,
              ]
            : []),
        ].join('\n'),
      );
    },
  );

  keyringOptions(
    keys
      .command('list')
      .description('list the keys of the keyring')
      .option('-o, --output <format>', 'text or json', parseOutput, 'text')
      .addHelpText('after', '\nExample:\n  synod keys list --output json'),
  ).action(async (o: KeyringOptions & { output: OutputFormat }) => {
    const ring = openKeyring(o);
    const all = await ring.list();
    emit(o.output, all, () => (all.length === 0 ? `no keys in ${ring.dir}` : infoRows(all)));
  });

  keyringOptions(
    keys
      .command('show <name>')
      .description("a key's address and public key")
      .option('-a, --address', 'print only the address')
      .option('-p, --pubkey', 'print only the public key (hex)')
      .option('-o, --output <format>', 'text or json', parseOutput, 'text')
      .addHelpText('after', '\nExample:\n  synod keys show alice --address'),
  ).action(
    async (
      name: string,
      o: KeyringOptions & { address?: boolean; pubkey?: boolean; output: OutputFormat },
    ) => {
      const info = await openKeyring(o).show(name);
      if (o.address) process.stdout.write(`${info.address}\n`);
      else if (o.pubkey) process.stdout.write(`${info.publicKey}\n`);
      else emit(o.output, info, () => infoTable(info));
    },
  );

  keyringOptions(
    keys
      .command('import <name> <file>')
      .description(
        'import a key exported with `keys export`, or a key file of @synod/crypto (e.g. a testnet account: DIR/keys/account0.json)',
      )
      .option('--overwrite', 'replace a key of the same name')
      .option('-o, --output <format>', 'text or json', parseOutput, 'text')
      .addHelpText(
        'after',
        '\nExamples:\n  synod keys import faucet /tmp/localnet/keys/account0.json --keyring-backend test\n  synod keys import alice alice.key.json',
      ),
  ).action(
    async (name: string, file: string, o: KeyringOptions & { overwrite?: boolean; output: OutputFormat }) => {
      checkKeyName(name);
      const ring = openKeyring(o);
      if (!o.overwrite && (await ring.has(name)))
        throw new CliError(
          'KEY_EXISTS',
          `a key named ${name} already exists in ${ring.dir} (delete it first, or pick another name)`,
        );
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        throw new CliError(
          'KEYRING_INVALID',
          `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        );
      }
      let doc: { type?: unknown };
      try {
        doc = JSON.parse(text) as { type?: unknown };
      } catch {
        throw new CliError(
          'KEYRING_INVALID',
          `${file} is not JSON (expected an exported key or a Synod key file)`,
        );
      }
      let kp: KeyPair;
      if (doc?.type === 'synod/exported-key') {
        const p = await prompter().secret(`Enter the passphrase ${file} was exported with: `);
        kp = await importExported(doc as ExportedKey, p, file);
      } else if (doc?.type === 'synod/validator-key' || doc?.type === 'synod/node-key') {
        try {
          kp = (await readKeyFile(file)).keyPair;
        } catch (err) {
          if (isCryptoError(err)) throw new CliError('KEYRING_INVALID', err.message);
          throw err;
        }
      } else {
        throw new CliError(
          'KEYRING_INVALID',
          `${file}: unknown key format (type ${JSON.stringify(doc?.type)})`,
        );
      }
      const passphrase = await newPassphrase(ring);
      const info = await ring.add(name, kp, { source: 'import' }, passphrase, {
        overwrite: o.overwrite === true,
      });
      emit(o.output, info, () => infoTable(info));
    },
  );

  keyringOptions(
    keys
      .command('export <name>')
      .description(
        'print the key encrypted with an export passphrase (JSON), or in clear with --unsafe --unarmored-hex',
      )
      .option('--unsafe', 'allow printing the private key in clear')
      .option('--unarmored-hex', 'print the 32-byte private key (seed) as hex (needs --unsafe)')
      .addHelpText(
        'after',
        '\nExamples:\n  synod keys export alice > alice.key.json\n  synod keys import alice2 alice.key.json',
      ),
  ).action(async (name: string, o: KeyringOptions & { unsafe?: boolean; unarmoredHex?: boolean }) => {
    const ring = openKeyring(o);
    const kp = await loadKey(ring, name);
    if (o.unarmoredHex) {
      if (!o.unsafe)
        throw new CliError('USAGE', '--unarmored-hex prints the private key in clear: add --unsafe');
      process.stdout.write(`${toHex(kp.seed)}\n`);
      return;
    }
    const p = await prompter().secret('Enter a passphrase to encrypt the exported key: ', true);
    if (p.length < 8) throw new CliError('USAGE', 'the export passphrase must have at least 8 characters');
    process.stdout.write(`${JSON.stringify(await exportKey(kp, p), null, 2)}\n`);
  });

  keyringOptions(
    keys
      .command('delete <name>')
      .description('delete a key (asks to confirm unless --yes)')
      .option('-y, --yes', 'do not ask')
      .addHelpText('after', '\nExample:\n  synod keys delete alice --yes'),
  ).action(async (name: string, o: KeyringOptions & { yes?: boolean }) => {
    const ring = openKeyring(o);
    const info = await ring.show(name);
    if (!o.yes) {
      const answer = await prompter().line(
        `Delete key ${name} (${info.address})? It cannot be undone. [y/N] `,
      );
      if (!/^y(es)?$/i.test(answer.trim())) throw new CliError('USAGE', 'not deleted');
    }
    await ring.delete(name);
    process.stdout.write(`deleted ${name} (${info.address})\n`);
  });
}
