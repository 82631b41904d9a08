import { ReachError } from '@reach/protocol';

/** Which listener failed: its port and address flags, for the message. */
export interface ListenerFlags {
  what: 'SSH' | 'HTTP';
  portFlag: '--ssh-port' | '--port';
  hostFlag: '--ssh-host' | '--host';
  host: string;
  port: number;
}

/**
 * A listen() failure the user can fix, as one line naming the flag to change; anything else is
 * returned as it is (a bug keeps its stack).
 */
export function listenError(err: unknown, l: ListenerFlags): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const at = `${l.host}:${l.port}`;
  const details = { flag: l.portFlag, host: l.host, port: l.port, errno: code };
  if (code === 'EADDRINUSE') {
    return new ReachError(
      'INVALID_ARGUMENT',
      `${l.what} port ${at} is already in use: pass ${l.portFlag} N (0 picks a free port), or stop what holds it`,
      { details, cause: err },
    );
  }
  if (code === 'EACCES') {
    return new ReachError(
      'PERMISSION_DENIED',
      `not allowed to listen on ${l.what} port ${at} (ports below 1024 need root or CAP_NET_BIND_SERVICE): pass ${l.portFlag} N`,
      { details, cause: err },
    );
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new ReachError(
      'INVALID_ARGUMENT',
      `cannot listen for ${l.what} on ${l.host}: no such local address; pass ${l.hostFlag} with one of this machine's addresses`,
      { details: { ...details, flag: l.hostFlag }, cause: err },
    );
  }
  return err;
}
