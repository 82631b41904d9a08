/** JSON-encoded bytes of a value, as the MCP client receives it. */
const jsonBytes = (v: unknown): number => Buffer.byteLength(JSON.stringify(v));

/**
 * Shortens a page of clients to fit `budget` JSON bytes (the server's result cap), moving the
 * cursor back to the last client kept so the dropped ones start the next page. At ~450 bytes a
 * client, a 1,000-client page is ~450 KB: past the 256 KiB default cap, under 1 MiB.
 */
export function fitPage<T>(
  page: { clients: T[]; next_cursor: string | null },
  budget: number,
  cursorAfter: (last: T) => string,
): { clients: T[]; next_cursor: string | null } {
  let { clients } = page;
  // Room for the rest of the result (counts, cursor, active client) besides the array.
  const room = Math.max(1024, budget - 2048);
  let size = jsonBytes(clients);
  if (size <= room) return page;
  while (clients.length > 1 && size > room) {
    const keep = Math.max(1, Math.min(clients.length - 1, Math.floor(clients.length * (room / size) * 0.95)));
    clients = clients.slice(0, keep);
    size = jsonBytes(clients);
  }
  const last = clients.at(-1);
  return { clients, next_cursor: last === undefined ? page.next_cursor : cursorAfter(last) };
}
