import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseLogLevel } from '../../src/config/values.js';
import { createLogger } from '../../src/logger.js';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return {
    stream,
    lines: () =>
      text
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('logger', () => {
  it('JSON lines with a level per module (a nested module inherits, one module field)', () => {
    const out = capture();
    const spec = parseLogLevel('consensus:debug,p2p:error,*:info');
    if (spec === undefined) throw new Error('spec');
    const { logger } = createLogger(spec, 'json', out.stream);
    logger.debug('root debug hidden');
    logger.info('root info', { a: 1 });
    const consensus = logger.child({ module: 'consensus' });
    consensus.debug('consensus debug shown');
    consensus.child({ module: 'wal' }).debug('wal inherits consensus:debug');
    const p2p = logger.child({ module: 'p2p' });
    p2p.warn('p2p warn hidden');
    p2p.error('p2p error shown', { event: 'peer_banned' });
    const lines = out.lines();
    expect(lines.map((l) => l.msg)).toEqual([
      'root info',
      'consensus debug shown',
      'wal inherits consensus:debug',
      'p2p error shown',
    ]);
    expect(lines[0]).toMatchObject({ level: 'info', a: 1 });
    expect(lines[2]?.module).toBe('wal');
    expect(lines[3]).toMatchObject({ level: 'error', module: 'p2p', event: 'peer_banned' });
    expect(typeof lines[0]?.time).toBe('string');
  });

  it('"none" silences a module', () => {
    const out = capture();
    const spec = parseLogLevel('p2p:none');
    if (spec === undefined) throw new Error('spec');
    const { logger } = createLogger(spec, 'json', out.stream);
    logger.child({ module: 'p2p' }).error('hidden');
    logger.info('shown');
    expect(out.lines().map((l) => l.msg)).toEqual(['shown']);
  });
});
