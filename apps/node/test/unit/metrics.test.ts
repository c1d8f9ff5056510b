import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PromMetrics } from '../../src/metrics.js';
import { parseTcpSnmp, registerTcpMetrics } from '../../src/net-metrics.js';

/** name → type, from the exposition's # TYPE lines. */
function types(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1] as string, m[2] as string);
  return out;
}

describe('metrics', () => {
  it('the Metrics port over prom-client: one metric per name, labels, histograms', async () => {
    const m = new PromMetrics({ processMetrics: false });
    const c = m.counter({ name: 'synod_test_events_total', help: 'h', labelNames: ['kind'] });
    c.inc({ kind: 'a' });
    m.counter({ name: 'synod_test_events_total', help: 'h', labelNames: ['kind'] }).inc({ kind: 'a' }, 2);
    const g = m.gauge({ name: 'synod_test_height', help: 'h' });
    g.set(7);
    g.inc();
    m.histogram({ name: 'synod_test_delay_seconds', help: 'h', buckets: [0.1, 1] }).observe(0.5);
    expect(() => m.gauge({ name: 'synod_test_events_total', help: 'h' })).toThrow(/is a counter/);
    const text = await m.text();
    expect(text).toMatch(/^synod_test_events_total\{kind="a"\} 3$/m);
    expect(text).toMatch(/^synod_test_height 8$/m);
    expect(text).toMatch(/^synod_test_delay_seconds_bucket\{le="1"\} 1$/m);
  });

  it('what promtool checks: counters end in _total and nothing else does (process metrics included)', async () => {
    const text = await new PromMetrics().text();
    const t = types(text);
    expect(t.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
    expect(t.get('process_resident_memory_bytes')).toBe('gauge');
    for (const [name, type] of t) {
      if (type === 'counter') expect(name, name).toMatch(/_total$/);
      else expect(name, name).not.toMatch(/_total$/);
    }
  });
});

describe('TCP counters of the network namespace', () => {
  const snmp = [
    'Ip: Forwarding DefaultTTL',
    'Ip: 1 64',
    'Tcp: RtoAlgorithm RtoMin OutSegs RetransSegs InErrs',
    'Tcp: 1 200 5000 17 0',
    'Udp: InDatagrams',
    'Udp: 3',
  ].join('\n');

  it('parses the Tcp lines of /proc/net/snmp', () => {
    expect(parseTcpSnmp(snmp)).toEqual({ outSegs: 5000, retransSegs: 17 });
    expect(parseTcpSnmp('Ip: a\nIp: 1\n')).toBeUndefined();
    expect(parseTcpSnmp('Tcp: OutSegs\nTcp: 5\n')).toBeUndefined();
  });

  it('exposes them at each scrape, as the kernel counts', async () => {
    const registry = new client.Registry();
    let text = snmp;
    expect(registerTcpMetrics(registry, () => text)).toBe(true);
    expect(await registry.metrics()).toMatch(/^synod_net_tcp_retransmitted_segments_total 17$/m);
    text = snmp.replace('5000 17', '6000 40');
    const after = await registry.metrics();
    expect(after).toMatch(/^synod_net_tcp_retransmitted_segments_total 40$/m);
    expect(after).toMatch(/^synod_net_tcp_sent_segments_total 6000$/m);
    expect(registerTcpMetrics(new client.Registry(), () => 'no tcp here')).toBe(false);
  });
});
