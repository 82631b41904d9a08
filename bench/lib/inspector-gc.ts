/**
 * Forces a full garbage collection in another Node process through its inspector (started with
 * `--inspect=127.0.0.1:0`), so memory figures can be read without the garbage of a burst of work.
 */
const INSPECTOR_URL = /Debugger listening on (ws:\/\/\S+)/;

/** The inspector WebSocket URL a process printed on stderr, if any. */
export function inspectorUrl(stderr: string): string | undefined {
  return INSPECTOR_URL.exec(stderr)?.[1];
}

/** One inspector protocol call: resolves with its `result`, rejects on an error or no answer. */
function inspectorCall(url: string, method: string, params: object, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => {
      ws.close();
      reject(new Error(`no answer from the inspector within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (err: Error | undefined, result?: unknown): void => {
      clearTimeout(timer);
      ws.close();
      if (err) reject(err);
      else resolve(result);
    };
    ws.addEventListener('open', () => ws.send(JSON.stringify({ id: 1, method, params })));
    ws.addEventListener('message', (event) => {
      const reply = JSON.parse(String(event.data)) as {
        id?: number;
        error?: { message: string };
        result?: unknown;
      };
      if (reply.id !== 1) return;
      finish(reply.error ? new Error(reply.error.message) : undefined, reply.result);
    });
    ws.addEventListener('error', () => finish(new Error(`inspector WebSocket ${url} failed`)));
  });
}

/** Sends `HeapProfiler.collectGarbage` and resolves once the process has answered. */
export async function collectGarbage(url: string, timeoutMs = 10_000): Promise<void> {
  await inspectorCall(url, 'HeapProfiler.collectGarbage', {}, timeoutMs);
}

/** Evaluates `expression` in another process's main context (inspector `Runtime.evaluate`), by value. */
export async function inspectorEvaluate<T>(url: string, expression: string, timeoutMs = 10_000): Promise<T> {
  const r = (await inspectorCall(
    url,
    'Runtime.evaluate',
    { expression, returnByValue: true },
    timeoutMs,
  )) as {
    result?: { value?: unknown };
    exceptionDetails?: { text: string };
  };
  if (r.exceptionDetails) throw new Error(r.exceptionDetails.text);
  return r.result?.value as T;
}
