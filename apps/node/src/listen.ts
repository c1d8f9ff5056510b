/**
 * `server.listen` for the daemon's own HTTP listener (metrics), with a
 * failure turned into one CONFIG_INVALID line naming the config key
 * (@synod/rpc's wording, shared with the RPC's `[rpc] laddr`).
 */
import type { Server } from 'node:http';
import { cannotListen } from '@synod/rpc';

export function listen(server: Server, host: string, port: number, key: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      reject(cannotListen(key, formatHostPort(host, port), err));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** `host:port`, an IPv6 host in brackets. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
