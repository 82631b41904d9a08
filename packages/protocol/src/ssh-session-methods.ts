import { z } from 'zod';
import { AbsolutePath } from './paths.ts';

/**
 * Schemas of the seven `ssh_session_*` agent methods: persistent PTY shells the client opens onward
 * to hosts in its network (see TOOLS.md, "SSH sessions"). Times are ISO 8601 strings, timeouts in
 * seconds.
 */
export const SSH_SESSION_LIMITS = {
  maxHostChars: 255,
  maxUsernameChars: 64,
  maxPasswordChars: 1024,
  maxJumpHosts: 8,
  /** ssh_session_command: longest command, in characters. */
  maxCommandChars: 100_000,
  minCommandTimeoutS: 1,
  maxCommandTimeoutS: 3600,
  defaultCommandTimeoutS: 300,
  /** ssh_session_send: longest text, in characters. */
  maxSendChars: 100_000,
  minReadTimeoutS: 0.1,
  maxReadTimeoutS: 30,
  defaultReadTimeoutS: 0.5,
} as const;

export const SessionId = z.string().min(1).max(128);

const Host = z
  .string()
  .min(1)
  .max(SSH_SESSION_LIMITS.maxHostChars)
  .regex(/^[^\s,[\]]+$/, 'host must not contain whitespace, commas or brackets');
const Username = z.string().min(1).max(SSH_SESSION_LIMITS.maxUsernameChars);
const Password = z.string().min(1).max(SSH_SESSION_LIMITS.maxPasswordChars);
const Port = z.number().int().min(1).max(65_535).default(22);

const oneCredential = (v: { password?: string | undefined; key_file?: string | undefined }): boolean =>
  (v.password === undefined) !== (v.key_file === undefined);
const oneCredentialMessage = { message: 'give exactly one of password or key_file' };

export const SshJumpHost = z
  .object({
    host: Host,
    username: Username,
    port: Port,
    password: Password.optional(),
    key_file: AbsolutePath.optional(),
  })
  .refine(oneCredential, oneCredentialMessage);
export type SshJumpHost = z.infer<typeof SshJumpHost>;

export const SshSessionOpenParams = z
  .object({
    host: Host,
    username: Username,
    password: Password.optional(),
    /** A private key file on the client (OpenSSH or PEM, unencrypted). */
    key_file: AbsolutePath.optional(),
    port: Port,
    /** In order: the first is the hop nearest the client, the last one reaches `host`. */
    jump_hosts: z.array(SshJumpHost).max(SSH_SESSION_LIMITS.maxJumpHosts).optional(),
    /** Replace a recorded host key that changed (target or jump host) instead of refusing with SSH_HOST_KEY_MISMATCH. */
    accept_new_host_key: z.boolean().default(false),
  })
  .refine(oneCredential, oneCredentialMessage);
export type SshSessionOpenParams = z.input<typeof SshSessionOpenParams>;

export const SshSessionInfo = z.object({
  session_id: SessionId,
  host: z.string(),
  username: z.string(),
  port: z.number().int(),
  created_at: z.string(),
  last_activity: z.string(),
});
export type SshSessionInfo = z.infer<typeof SshSessionInfo>;

export const SshSessionOpenResult = SshSessionInfo.extend({ message: z.string() });
export type SshSessionOpenResult = z.infer<typeof SshSessionOpenResult>;

export const SshSessionCommandParams = z.object({
  session_id: SessionId,
  command: z.string().min(1).max(SSH_SESSION_LIMITS.maxCommandChars),
  timeout: z
    .number()
    .min(SSH_SESSION_LIMITS.minCommandTimeoutS)
    .max(SSH_SESSION_LIMITS.maxCommandTimeoutS)
    .default(SSH_SESSION_LIMITS.defaultCommandTimeoutS),
});
export type SshSessionCommandParams = z.input<typeof SshSessionCommandParams>;
export const SshSessionCommandResult = z.object({
  session_id: SessionId,
  /** What the command printed (stdout and stderr merged by the PTY), escape sequences stripped. */
  output: z.string(),
  exit_code: z.number().int(),
  /** Present and true when the output passed the buffer cap and its oldest part was dropped. */
  truncated: z.boolean().optional(),
});
export type SshSessionCommandResult = z.infer<typeof SshSessionCommandResult>;

export const SshSessionSendParams = z.object({
  session_id: SessionId,
  text: z.string().max(SSH_SESSION_LIMITS.maxSendChars),
  send_newline: z.boolean().default(true),
});
export type SshSessionSendParams = z.input<typeof SshSessionSendParams>;
export const SshSessionSendResult = z.object({
  session_id: SessionId,
  sent: z.literal(true),
  bytes_sent: z.number().int().nonnegative(),
});
export type SshSessionSendResult = z.infer<typeof SshSessionSendResult>;

export const SshSessionReadParams = z.object({
  session_id: SessionId,
  timeout: z
    .number()
    .min(SSH_SESSION_LIMITS.minReadTimeoutS)
    .max(SSH_SESSION_LIMITS.maxReadTimeoutS)
    .default(SSH_SESSION_LIMITS.defaultReadTimeoutS),
});
export type SshSessionReadParams = z.input<typeof SshSessionReadParams>;
export const SshSessionReadResult = z.object({
  session_id: SessionId,
  stdout: z.string(),
  /** More output is already buffered than this answer carried. */
  has_more: z.boolean(),
  /** Present and true when unread output passed the buffer cap and its oldest part was dropped. */
  dropped: z.boolean().optional(),
});
export type SshSessionReadResult = z.infer<typeof SshSessionReadResult>;

export const SshSessionListParams = z.object({}).loose();
export const SshSessionListResult = z.object({
  sessions: z.array(SshSessionInfo),
  count: z.number().int().nonnegative(),
});
export type SshSessionListResult = z.infer<typeof SshSessionListResult>;

export const SshSessionCloseParams = z.object({ session_id: SessionId });
export type SshSessionCloseParams = z.input<typeof SshSessionCloseParams>;
export const SshSessionCloseResult = z.object({ closed: z.boolean(), message: z.string() });
export type SshSessionCloseResult = z.infer<typeof SshSessionCloseResult>;

export const SshSessionRestoreParams = z.object({}).loose();
export const SshSessionRestoreResult = z.object({
  restored: z.array(
    z.object({
      old_session_id: SessionId,
      new_session_id: SessionId,
      host: z.string(),
      username: z.string(),
    }),
  ),
  failed: z.array(z.object({ session_id: SessionId, host: z.string(), error: z.string() })),
  manual_required: z.array(z.object({ session_id: SessionId, host: z.string(), reason: z.string() })),
});
export type SshSessionRestoreResult = z.infer<typeof SshSessionRestoreResult>;

/** Method name → params and result schemas, for both ends of the link. */
export const SSH_SESSION_METHODS = {
  ssh_session_open: { params: SshSessionOpenParams, result: SshSessionOpenResult },
  ssh_session_command: { params: SshSessionCommandParams, result: SshSessionCommandResult },
  ssh_session_send: { params: SshSessionSendParams, result: SshSessionSendResult },
  ssh_session_read: { params: SshSessionReadParams, result: SshSessionReadResult },
  ssh_session_list: { params: SshSessionListParams, result: SshSessionListResult },
  ssh_session_close: { params: SshSessionCloseParams, result: SshSessionCloseResult },
  ssh_session_restore: { params: SshSessionRestoreParams, result: SshSessionRestoreResult },
} as const;
export type SshSessionMethod = keyof typeof SSH_SESSION_METHODS;
