import { AbsolutePath, LINK } from '@reach/protocol';
import { z } from 'zod';
import { UPDATE_KEY_LINE } from './update-key.ts';

/** Default SSH port of reach-server. */
export const DEFAULT_SERVER_PORT = 2222;

const Port = z.coerce.number().int().min(1).max(65_535);
const Seconds = z.coerce.number().min(0).max(86_400);

/**
 * Every configuration key, with its default. The same schema validates config.yaml, the
 * environment and flags after they are merged (defaults < file < environment < flags).
 */
export const ClientConfig = z
  .object({
    /** Stable identity of this client; created once by `--init` (or the first load) and kept. */
    uuid: z.uuid().optional(),
    server_host: z.string().min(1).max(255).default('localhost'),
    server_port: Port.default(DEFAULT_SERVER_PORT),
    server_user: z.string().min(1).max(64).default(LINK.defaultUser),
    /** Private key path; relative paths are taken from the config directory, `~/` from the home dir. */
    key_file: z.string().min(1).max(4096).default('id_ed25519'),
    /** Connection label; empty means the hostname. */
    client_id: z.string().max(128).default(''),
    /** Backoff base and cap for reconnects, in seconds. */
    reconnect_delay: Seconds.default(5),
    max_reconnect_delay: Seconds.default(300),
    /** Absolute path prefixes this client serves; empty means all. */
    allowed_paths: z.array(AbsolutePath).max(256).default([]),
    log_level: z.string().max(16).default('INFO'),
    /** Empty means the hostname. */
    display_name: z.string().max(100).default(''),
    purpose: z.string().max(200).default(''),
    tags: z.array(z.string().min(1).max(64)).max(64).default([]),
    /** Resumable transfer partials are removed this long after their last change, in hours. */
    partial_ttl_hours: z.coerce.number().min(0).max(8760).default(168),
    /** Resumable partials may take this much disk together, in MiB (oldest removed first). */
    partial_max_mib: z.coerce
      .number()
      .int()
      .min(0)
      .max(16 * 1024 * 1024)
      .default(4096),
    /**
     * The release public key (minisign key line) an update must be signed with; empty: this
     * client applies no update. Written by `--init --update-public-key` (or by hand), never by
     * the server, so a server without the offline secret key cannot push code (#16).
     */
    update_public_key: z.union([z.literal(''), z.string().regex(UPDATE_KEY_LINE)]).default(''),
    /** false: update_apply is refused and rollouts skip this client (it says so in hello). */
    auto_update: z
      .union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')])
      .default(true),
    /**
     * Hours between the client's own update checks (its channel's signed release, over the link);
     * 0: only server-driven rollouts update it.
     */
    update_check_interval_h: z.coerce.number().min(0).max(720).default(0),
    /** The channel those checks follow. */
    update_channel: z.enum(['stable', 'beta']).default('stable'),
    /**
     * false: browser terminals are refused on this machine (the `terminal` capability is not
     * advertised and a terminal stream is answered METHOD_NOT_FOUND); commands still run.
     */
    terminal: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).default(true),
    /** How long a new version has to register before it is rolled back, in seconds. */
    update_health_window_s: z.coerce.number().min(5).max(3600).default(60),
  })
  .refine((c) => c.max_reconnect_delay >= c.reconnect_delay, {
    message: 'max_reconnect_delay must be at least reconnect_delay',
    path: ['max_reconnect_delay'],
  });
export type ClientConfig = z.infer<typeof ClientConfig>;
export type ClientConfigInput = z.input<typeof ClientConfig>;

/** The keys written to a fresh config.yaml by `--init`. */
export function defaultConfigFile(uuid: string): Record<string, unknown> {
  const defaults = ClientConfig.parse({});
  return { ...defaults, uuid };
}
