import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { splitPartialEscape, toPlainText } from './terminal-text.ts';

const ESC = '\u001b';

describe('toPlainText', () => {
  test('strips SGR colours, bracketed paste toggles and OSC titles', () => {
    const prompt = `${ESC}]0;user@host: ~\u0007${ESC}[01;32muser@host${ESC}[00m:${ESC}[01;34m~${ESC}[00m$ `;
    assert.equal(toPlainText(`${ESC}[?2004h${prompt}ls${ESC}[?2004l\r\n`), 'user@host:~$ ls\n');
    assert.equal(toPlainText(`${ESC}]633;A${ESC}\\x`), 'x');
    assert.equal(toPlainText(`${ESC}(Bplain${ESC}=`), 'plain');
  });

  test('applies carriage returns and backspaces like a terminal', () => {
    assert.equal(toPlainText('10%\r55%\r100%\r\n'), '100%\n');
    assert.equal(toPlainText('abcdef\rXY'), 'XYcdef');
    assert.equal(toPlainText('abc\b\bZ'), 'aZc');
    assert.equal(toPlainText('tab\there'), 'tab\there');
    assert.equal(toPlainText('bell\u0007!'), 'bell!');
  });
});

describe('splitPartialEscape', () => {
  test('holds back an escape sequence cut off at the end', () => {
    assert.deepEqual(splitPartialEscape(`text${ESC}[01;3`), ['text', `${ESC}[01;3`]);
    assert.deepEqual(splitPartialEscape(`text${ESC}]0;title`), ['text', `${ESC}]0;title`]);
    assert.deepEqual(splitPartialEscape(`text${ESC}`), ['text', ESC]);
  });

  test('passes complete text through', () => {
    assert.deepEqual(splitPartialEscape(`a${ESC}[0mb`), [`a${ESC}[0mb`, '']);
    assert.deepEqual(splitPartialEscape('plain'), ['plain', '']);
  });
});
