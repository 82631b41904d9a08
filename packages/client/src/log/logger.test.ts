import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { createLogger, normaliseLevel } from './logger.ts';

function sink() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, stream };
}

describe('logger', () => {
  test('reference level names map to pino levels; unknown names fall back to info', () => {
    assert.equal(normaliseLevel('INFO'), 'info');
    assert.equal(normaliseLevel('WARNING'), 'warn');
    assert.equal(normaliseLevel('CRITICAL'), 'fatal');
    assert.equal(normaliseLevel('DEBUG'), 'debug');
    assert.equal(normaliseLevel('loud'), 'info');
  });

  test('JSON lines at the chosen level, with child bindings', () => {
    const { lines, stream } = sink();
    const log = createLogger('WARNING', stream).child({ clientId: 'c1' });
    log.info('hidden');
    log.warn({ reqId: 7 }, 'shown');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.msg, 'shown');
    assert.equal(lines[0]?.clientId, 'c1');
    assert.equal(lines[0]?.reqId, 7);
    assert.equal(lines[0]?.app, 'reach');
  });
});
