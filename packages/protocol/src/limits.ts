/** Limits shared by server and client. Sizes in bytes, times in milliseconds unless named otherwise. */
export const LIMITS = {
  /** Largest RPC frame body accepted; a longer length prefix is refused before the body is read. */
  maxFrameBytes: 16 * 1024 * 1024,
  /**
   * Largest frame a client may send on the `reach-control` subsystem. Its requests are tiny: the
   * biggest well-formed one (`list_clients`, `{}` params, a 128-character string id, or the
   * `$/cancelRequest` notification) encodes to about 330 bytes, so 4 KiB leaves 12× headroom
   * while a hostile channel can park at most 4 KiB of partial frame, not 16 MiB. The server's
   * replies (a `list_clients` of thousands of clients) still use maxFrameBytes.
   */
  maxControlRequestBytes: 4 * 1024,
  /** run_command: longest command string, in characters. */
  maxCommandChars: 10_000,
  /** run_command: timeout range in seconds, and its default. */
  minCommandTimeoutS: 1,
  maxCommandTimeoutS: 3600,
  defaultCommandTimeoutS: 300,
  /** run_command: captured output per stream; the rest is dropped and `truncated` set. */
  maxOutputBytesPerStream: 10 * 1024 * 1024,
  /**
   * Text one tool result carries, in JSON-encoded bytes (run_command's stdout + stderr, a
   * read_file/read_output page): 256 KiB by default (the server's --max-result-bytes) because MCP
   * clients refuse far less than the 16 MiB frame (the Python SDK drops any SSE event over 1 MiB,
   * Claude Code cuts results near 25,000 tokens). A call may ask for up to `maxResultBytes`.
   */
  defaultResultBytes: 256 * 1024,
  minResultBytes: 1024,
  /** The server maximum for --max-result-bytes and a call's max_output_bytes: half a frame. */
  maxResultBytes: 8 * 1024 * 1024,
  /** write_file: largest file body carried inside RPC. */
  maxFileBytes: 10 * 1024 * 1024,
  /** Longest path accepted, in characters. */
  maxPathChars: 4096,
  /** Default deadline for an RPC call that names none. */
  defaultRpcTimeoutMs: 30_000,
} as const;
