import { createHash } from 'node:crypto';

/**
 * The last line of output, when it asks for a secret: `Password:`, `[sudo] password for ann:`,
 * `ann@db's password:`, `Enter passphrase for key '/k':`, `Enter PIN for …:`, `Verification
 * code:`, `Passcode:`, `OTP:`, `Passwort:`, `Mot de passe :`… — a prompt word, then at most 120
 * characters on the same line, then `:` or `?` ending the output (a prompt waits at the end of
 * its line; `password changed: yes` followed by a shell prompt does not count).
 */
const SECRET_PROMPT =
  /(\b(pass(word|wd|phrase|code)?|passwort|pin|otp|token|secret)\b|verification code|one[- ]time|mot de passe|contrase(ñ|n)a|senha|パスワード|密码)[^\n]{0,120}[:?：]\s*$/iu;

/** Only the tail matters; bounding it keeps the regex cheap however much output arrives. */
const TAIL_CHARS = 512;

export function looksLikeSecretPrompt(output: string): boolean {
  const tail = output.slice(-TAIL_CHARS).replace(/\r/g, '');
  return SECRET_PROMPT.test(tail);
}

/** What the audit trail stores of a secret text: its length (UTF-16 units) and SHA-256 (hex). */
export function summarizeSecretText(text: string): { length: number; sha256: string } {
  return { length: text.length, sha256: createHash('sha256').update(text, 'utf8').digest('hex') };
}

/** Sessions remembered at once; the oldest is forgotten first (then its sends are hashed: safe). */
const MAX_SESSIONS = 4096;

/**
 * The tail of the output last seen on each SSH session (by client UUID and session id), from
 * `ssh_session_read` and `ssh_session_command` results, so `ssh_session_send` can tell that
 * what it types answers a password prompt. Bounded: TAIL_CHARS per session, MAX_SESSIONS.
 */
export class SecretPromptWatch {
  readonly #tails = new Map<string, string>();

  /** Records output just seen on a session; empty output leaves the last tail (the prompt still waits). */
  saw(clientUuid: string, sessionId: string, output: string): void {
    if (output === '') return;
    const key = `${clientUuid}\n${sessionId}`;
    this.#tails.delete(key);
    this.#tails.set(key, output.slice(-TAIL_CHARS));
    if (this.#tails.size > MAX_SESSIONS) {
      const oldest = this.#tails.keys().next().value;
      if (oldest !== undefined) this.#tails.delete(oldest);
    }
  }

  /**
   * True when the session's last output asks for a secret, or nothing is known of it (a send on
   * a session this server never saw output from is hashed, not stored).
   */
  awaitsSecret(clientUuid: string, sessionId: string): boolean {
    const tail = this.#tails.get(`${clientUuid}\n${sessionId}`);
    return tail === undefined || looksLikeSecretPrompt(tail);
  }

  forget(clientUuid: string, sessionId: string): void {
    this.#tails.delete(`${clientUuid}\n${sessionId}`);
  }
}
