/**
 * Forces a full garbage collection in another Node process through its inspector (started with
 * `--inspect=127.0.0.1:0`), so memory figures can be read without the garbage of a burst of work.
 */
const INSPECTOR_URL = /Debugger listening on (ws:\/\/\S+)/;

/** The inspector WebSocket URL a process printed on stderr, if any. */
export function inspectorUrl(stderr: string): string | undefined {
  return INSPECTOR_URL.exec(stderr)?.[1];
}

/** Sends `HeapProfiler.collectGarbage` and resolves once the process has answered. */
export function collectGarbage(url: string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => {
      ws.close();
      reject(new Error(`no answer from the inspector within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      ws.close();
      if (err) reject(err);
      else resolve();
    };
    ws.addEventListener('open', () =>
      ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' })),
    );
    ws.addEventListener('message', (event) => {
      const reply = JSON.parse(String(event.data)) as { id?: number; error?: { message: string } };
      if (reply.id !== 1) return;
      finish(reply.error ? new Error(reply.error.message) : undefined);
    });
    ws.addEventListener('error', () => finish(new Error(`inspector WebSocket ${url} failed`)));
  });
}

/** Evaluates `expression` in another process's main context (inspector `Runtime.evaluate`), by value. */
export function inspectorEvaluate<T>(url: string, expression: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => {
      ws.close();
      reject(new Error(`no answer from the inspector within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.addEventListener('open', () =>
      ws.send(
        JSON.stringify({ id: 1, method: 'Runtime.evaluate', params: { expression, returnByValue: true } }),
      ),
    );
    ws.addEventListener('message', (event) => {
      const reply = JSON.parse(String(event.data)) as {
        id?: number;
        error?: { message: string };
        result?: { result?: { value?: unknown }; exceptionDetails?: { text: string } };
      };
      if (reply.id !== 1) return;
      clearTimeout(timer);
      ws.close();
      const failure = reply.error?.message ?? reply.result?.exceptionDetails?.text;
      if (failure) reject(new Error(failure));
      else resolve(reply.result?.result?.value as T);
    });
    ws.addEventListener('error', () => {
      clearTimeout(timer);
      reject(new Error(`inspector WebSocket ${url} failed`));
    });
  });
}
