import { z } from 'zod';

/**
 * Every option of `reach-server`, one row each: the flag, its environment variable, the zod type
 * that parses its text, its default and its help. The config schema, the flag parser, the
 * environment reader, `--help` and docs/server-options.md all come from this table, so adding an
 * option is adding a row.
 */
export interface OptionSpec {
  /** Long flag without `--`; null for an option read from the environment only (a secret). */
  flag: string | null;
  /** Environment variable without the `REACH_` prefix (`ETPHONEHOME_<env>` is a deprecated alias); null: flag only. */
  env: string | null;
  /** What `--help` shows as the flag's value (`N`, `DIR`); absent for a boolean flag. */
  arg?: string;
  /** Parses the option's text (flag or environment) into the config value. */
  type: z.ZodType;
  /** Raw text used when neither flag nor environment gives one; a leading `~/` is the home directory. */
  default?: string;
  help: string;
  /** Where `--help` lists it. */
  group: OptionGroup;
  /** The flag may be given more than once; its values join the comma-separated form. */
  repeatable?: boolean;
  /** A path: a leading `~/` is expanded to the home directory. */
  path?: boolean;
  /** Unprefixed variables read when `REACH_<env>` is unset, without a warning (the reference's names). */
  aliases?: readonly string[];
}

export type OptionGroup = 'transport' | 'ssh' | 'clients' | 'webhooks' | 'storage' | 'exchange' | 'logging';

export const OPTION_GROUPS: Record<OptionGroup, string> = {
  transport: 'MCP and HTTP',
  ssh: 'Embedded SSH server',
  clients: 'Clients, limits and transfers',
  webhooks: 'Webhooks',
  storage: 'Data, audit and releases',
  exchange: 'File exchange through S3-compatible storage (exchange_*, r2_*)',
  logging: 'Logging',
};

/** A TCP port; 0 picks an ephemeral one (tests). */
export const Port = z.coerce.number().int().min(0).max(65_535);
