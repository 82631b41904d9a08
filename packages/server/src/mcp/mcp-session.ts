/**
 * State that belongs to one MCP session: two assistants on one daemon each select their own client.
 * The stdio transport has exactly one session.
 */
export class McpSession {
  readonly id: string;
  /** UUID of the client selected with select_client, if any. */
  selectedClient: string | undefined;

  constructor(id: string) {
    this.id = id;
  }
}
