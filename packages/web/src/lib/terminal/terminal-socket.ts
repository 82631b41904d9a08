/** What the server says on the terminal socket's text frames (the shared contract). */
export type TerminalControl =
  | { type: 'ready'; id: string }
  | { type: 'exit'; code: number | null; signal: string | null }
  | { type: 'error'; error: string; message: string };

export interface TerminalSocketHandlers {
  onOutput(bytes: Uint8Array): void;
  onControl(msg: TerminalControl): void;
  onClose(code: number, reason: string): void;
}

function isControl(v: unknown): v is TerminalControl {
  if (typeof v !== 'object' || v === null) return false;
  const t = (v as { type?: unknown }).type;
  return t === 'ready' || t === 'exit' || t === 'error';
}

/**
 * `WS /api/clients/:uuid/terminal?cols=N&rows=N`: binary frames are terminal bytes both ways,
 * text frames JSON control (browser→server only `resize`).
 */
export class TerminalSocket {
  readonly #ws: WebSocket;
  readonly #encoder = new TextEncoder();

  constructor(uuid: string, cols: number, rows: number, h: TerminalSocketHandlers) {
    const url = new URL(`/api/clients/${encodeURIComponent(uuid)}/terminal`, location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('cols', String(cols));
    url.searchParams.set('rows', String(rows));
    this.#ws = new WebSocket(url);
    this.#ws.binaryType = 'arraybuffer';
    this.#ws.onmessage = (m) => {
      if (m.data instanceof ArrayBuffer) {
        h.onOutput(new Uint8Array(m.data));
        return;
      }
      try {
        const msg: unknown = JSON.parse(String(m.data));
        if (isControl(msg)) h.onControl(msg);
      } catch {
        // not JSON: ignored, the contract has no other text frames
      }
    };
    this.#ws.onclose = (e) => h.onClose(e.code, e.reason);
  }

  get open(): boolean {
    return this.#ws.readyState === WebSocket.OPEN;
  }

  /** Keystrokes (xterm's onData gives a string; the wire carries its UTF-8 bytes). */
  input(data: string): void {
    if (this.open) this.#ws.send(this.#encoder.encode(data));
  }

  resize(cols: number, rows: number): void {
    if (this.open) this.#ws.send(JSON.stringify({ type: 'resize', cols, rows }));
  }

  close(): void {
    this.#ws.close();
  }
}
