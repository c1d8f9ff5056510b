/** Running the system's tools (ip, tc, iptables) from the chaos script. */
import { spawnSync } from 'node:child_process';

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly status: number | null,
    readonly stderr: string,
  ) {
    super(`${command}: exit ${status}: ${stderr.trim()}`);
  }
}

/** Runs `cmd args…` to completion; throws a CommandError when it fails (unless `allowFail`). */
export function run(cmd: string, args: readonly string[], o: { allowFail?: boolean } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  if (r.error !== undefined) {
    if (o.allowFail === true) return '';
    throw new CommandError(`${cmd} ${args.join(' ')}`, null, r.error.message);
  }
  if (r.status !== 0 && o.allowFail !== true)
    throw new CommandError(`${cmd} ${args.join(' ')}`, r.status, r.stderr);
  return r.stdout;
}

/** Runs a command inside network namespace `ns`. */
export function inNs(
  ns: string,
  cmd: string,
  args: readonly string[],
  o: { allowFail?: boolean } = {},
): string {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], o);
}

/** Whether `cmd` is on the PATH. */
export function have(cmd: string): boolean {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0;
}
