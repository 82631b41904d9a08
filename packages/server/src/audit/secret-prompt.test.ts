import assert from 'node:assert/strict';
import { test } from 'node:test';
import { looksLikeSecretPrompt, SecretPromptWatch, summarizeSecretText } from './secret-prompt.ts';

test('password, passphrase, PIN and code prompts are recognised at the end of the output', () => {
  for (const out of [
    'Password: ',
    '[sudo] password for ann: ',
    "ann@db.example's password:",
    "Enter passphrase for key '/home/ann/.ssh/id_ed25519': ",
    'Enter PIN for PIV card:',
    'Verification code: ',
    'Passcode or option (1-3): ',
    'OTP:',
    'Passwort: ',
    'Mot de passe : ',
    'last login: today\r\nPassword:\r\n',
    'Enter your secret? ',
  ]) {
    assert.equal(looksLikeSecretPrompt(out), true, JSON.stringify(out));
  }
});

test('ordinary output and prompts are not', () => {
  for (const out of [
    '',
    'ann@db:~$ ',
    'Name? ',
    'password changed: yes\nann@db:~$ ',
    'Compass heading: ',
    'passwords.txt\nann@db:~$ ',
    `Password:${'x'.repeat(200)}`,
  ]) {
    assert.equal(looksLikeSecretPrompt(out), false, JSON.stringify(out));
  }
});

test('the watch answers per client and session, keeps the last non-empty output, and is bounded', () => {
  const w = new SecretPromptWatch();
  assert.equal(w.awaitsSecret('c1', 's1'), true, 'nothing seen yet: treat as secret');
  w.saw('c1', 's1', 'ann@db:~$ ');
  assert.equal(w.awaitsSecret('c1', 's1'), false);
  w.saw('c1', 's1', 'sudo -k; sudo true\n[sudo] password for ann: ');
  w.saw('c1', 's1', '');
  assert.equal(w.awaitsSecret('c1', 's1'), true, 'an empty read leaves the prompt waiting');
  assert.equal(w.awaitsSecret('c2', 's1'), true);
  w.saw('c2', 's1', '$ ');
  assert.equal(w.awaitsSecret('c2', 's1'), false);
  for (let i = 0; i < 5000; i++) w.saw('c3', `s${i}`, '$ ');
  assert.equal(w.awaitsSecret('c2', 's1'), true, 'forgotten past the bound: safe side');
  w.forget('c3', 's4999');
  assert.equal(w.awaitsSecret('c3', 's4999'), true);
});

test('a secret is summarised as its length and SHA-256', () => {
  assert.deepEqual(summarizeSecretText('hunter2'), {
    length: 7,
    sha256: 'f52fbd32b2b3b86ff88ef6c490628285f482af15ddcb29541f94bcf526a3f6c7',
  });
});
