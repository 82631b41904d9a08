/** Reported to clients in `hello`; keep in step with package.json. */
export const SERVER_VERSION = '0.1.0';
