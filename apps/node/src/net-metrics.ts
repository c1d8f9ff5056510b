/**
 * The TCP counters of the node's network namespace (Linux: /proc/net/snmp),
 * read at each scrape: segments sent and retransmitted. Retransmits are how
 * a lossy or congested link shows from the node's side (its peers' gossip
 * and requests still arrive, later); a node alone in its namespace (a
 * container, a host) sees its own traffic. Where the file does not exist
 * the metrics are not registered.
 */
import { readFileSync } from 'node:fs';
import client from 'prom-client';

export const SNMP_FILE = '/proc/net/snmp';

/** The `Tcp:` fields of /proc/net/snmp's text (a header line, then a value line); undefined without them. */
export function parseTcpSnmp(text: string): { outSegs: number; retransSegs: number } | undefined {
  const lines = text.split('\n').filter((l) => l.startsWith('Tcp:'));
  const [names, values] = [lines[0]?.split(/\s+/), lines[1]?.split(/\s+/)];
  if (names === undefined || values === undefined) return undefined;
  const field = (name: string): number | undefined => {
    const i = names.indexOf(name);
    const v = i < 0 ? undefined : Number(values[i]);
    return v === undefined || !Number.isFinite(v) ? undefined : v;
  };
  const outSegs = field('OutSegs');
  const retransSegs = field('RetransSegs');
  return outSegs === undefined || retransSegs === undefined ? undefined : { outSegs, retransSegs };
}

/** Registers the TCP counters on `registry` when `read()` gives them; returns whether it did. */
export function registerTcpMetrics(
  registry: client.Registry,
  read: () => string = () => readFileSync(SNMP_FILE, 'utf8'),
): boolean {
  const now = (): ReturnType<typeof parseTcpSnmp> => {
    try {
      return parseTcpSnmp(read());
    } catch {
      return undefined;
    }
  };
  if (now() === undefined) return false;
  const counter = (
    name: string,
    help: string,
    pick: (t: { outSegs: number; retransSegs: number }) => number,
  ) =>
    new client.Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const t = now();
        if (t === undefined) return;
        this.reset();
        this.inc(pick(t));
      },
    });
  counter(
    'synod_net_tcp_sent_segments_total',
    "TCP segments sent in the node's network namespace (/proc/net/snmp OutSegs)",
    (t) => t.outSegs,
  );
  counter(
    'synod_net_tcp_retransmitted_segments_total',
    "TCP segments retransmitted in the node's network namespace (/proc/net/snmp RetransSegs): a lossy or congested link",
    (t) => t.retransSegs,
  );
  return true;
}
