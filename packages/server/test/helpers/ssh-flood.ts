/**
 * Test and bench helpers for admission of unauthenticated SSH connections: a flood of silent
 * sockets from one loopback address, and the time a legitimate ssh2 client needs to get in.
 */
import { type Socket, connect as tcpConnect } from 'node:net';
import ssh2 from 'ssh2';

/** ms from TCP connect to an authenticated SSH session from 127.0.0.1, or the error that ended it. */
export function sshConnectMs(port: number, privateKey: string): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.once('ready', () => {
      resolve(performance.now() - t0);
      c.end();
    });
    c.on('error', reject); // ssh2 may report a dropped connection twice
    c.connect({
      host: '127.0.0.1',
      port,
      username: 'reach',
      privateKey,
      hostVerifier: () => true,
      readyTimeout: 20_000,
    });
  });
}

export interface Flood {
  /** Sockets connected right now (the server holds them; the dropped ones wait to reopen). */
  open(): number;
  /** Stops reopening and destroys every socket. */
  stop(): void;
}

/**
 * Keeps `count` silent sockets from `from` (a 127.0.0.0/8 address) pointed at the server: each
 * one dropped is reopened after `reopenMs`, so the pressure stays on without turning into a
 * connect-rate test that eats the CPU the legitimate client needs.
 */
export function silentFlood(port: number, from: string, count: number, reopenMs = 1000): Flood {
  const sockets = new Set<Socket>();
  let stopped = false;
  const openOne = (): void => {
    if (stopped) return;
    const s = tcpConnect({ host: '127.0.0.1', port, localAddress: from });
    s.on('error', () => {});
    s.resume();
    s.once('connect', () => sockets.add(s));
    s.once('close', () => {
      sockets.delete(s);
      setTimeout(openOne, reopenMs);
    });
  };
  for (let i = 0; i < count; i++) openOne();
  return {
    open: () => sockets.size,
    stop: () => {
      stopped = true;
      for (const s of sockets) s.destroy();
    },
  };
}
