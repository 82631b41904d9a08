import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { environmentAssignment, execLine, quoteExecWord, renderUnit } from './systemd-unit.ts';

describe('systemd unit rendering', () => {
  test('command-line words: plain words as they are, the rest quoted; % and $ stay literal', () => {
    assert.equal(quoteExecWord('/usr/bin/node'), '/usr/bin/node');
    assert.equal(quoteExecWord('/opt/my app/bin.js'), '"/opt/my app/bin.js"');
    assert.equal(quoteExecWord('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(quoteExecWord('50%'), '50%%');
    assert.equal(quoteExecWord('$HOME'), '$$HOME');
    assert.equal(quoteExecWord(''), '""');
    assert.equal(quoteExecWord('a;b'), '"a;b"', 'a lone ; would end the command');
    assert.throws(() => quoteExecWord('a\nb'));
    assert.equal(execLine(['/bin/x', '--data-dir', '/var/lib/a b']), '/bin/x --data-dir "/var/lib/a b"');
    assert.throws(() => execLine([]));
  });

  test('environment assignments: names checked, values with spaces quoted whole', () => {
    assert.equal(environmentAssignment('REACH_HOME', '/x'), 'REACH_HOME=/x');
    assert.equal(environmentAssignment('A', 'b c'), '"A=b c"');
    assert.equal(environmentAssignment('A', '100%'), 'A=100%%');
    assert.throws(() => environmentAssignment('1A', 'x'));
    assert.throws(() => environmentAssignment('A', 'x\ny'));
  });

  test('sections in order, a key per value, a header of comments; newlines refused', () => {
    const text = renderUnit({
      header: ['one', ''],
      sections: [
        ['Unit', [['Description', 'D']]],
        ['Service', [['Environment', ['A=1', 'B=2']]]],
      ],
    });
    assert.equal(text, '# one\n#\n\n[Unit]\nDescription=D\n\n[Service]\nEnvironment=A=1\nEnvironment=B=2\n');
    assert.throws(() => renderUnit({ sections: [['Unit', [['Description', 'a\nExecStart=/bin/evil']]]] }));
  });
});
