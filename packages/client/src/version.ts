import pkg from '../package.json' with { type: 'json' };

/** Version of the client, reported by `--version` and in `hello`. */
export const VERSION: string = pkg.version;
