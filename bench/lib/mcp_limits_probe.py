"""One probe of the MCP Python SDK at its default settings (bench/mcp-limits.ts).

usage: mcp_limits_probe.py http|sse URL result|write SIZE [PATH]

result: run_command printing SIZE bytes with max_output_bytes big enough to return them all.
write:  write_file of SIZE bytes of text to PATH.
Prints "ok" or "error: ..." and whether a second call on the same session still worked.
"""

import asyncio
import sys

from mcp import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

# Set once the probe has printed its line: a failure while the transport shuts down after that
# adds nothing.
REPORTED = []


async def probe(transport, url, kind, size, path):
    opener = streamable_http_client(url) if transport == "http" else sse_client(url)
    async with opener as streams:
        async with ClientSession(streams[0], streams[1]) as session:
            await session.initialize()
            try:
                if kind == "result":
                    args = {"cmd": f"head -c {size} /dev/zero | tr '\\0' a", "max_output_bytes": 8 * 1024 * 1024}
                    r = await asyncio.wait_for(session.call_tool("run_command", args), 30)
                else:
                    args = {"path": path, "content": "a" * size}
                    r = await asyncio.wait_for(session.call_tool("write_file", args), 30)
                first = "error: " + r.content[0].text[:120] if r.is_error else "ok"
            except BaseException as exc:  # noqa: BLE001 - the probe reports whatever broke
                first = f"error: {type(exc).__name__}: {str(exc)[:120]}"
            try:
                await asyncio.wait_for(session.call_tool("list_clients", {}), 10)
                after = "session ok"
            except BaseException as exc:  # noqa: BLE001
                after = f"session broken ({type(exc).__name__})"
            print(f"{first} | {after}", flush=True)
            REPORTED.append(True)


def main():
    transport, url, kind, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    path = sys.argv[5] if len(sys.argv) > 5 else ""
    try:
        asyncio.run(asyncio.wait_for(probe(transport, url, kind, size, path), 60))
    except BaseException as exc:  # noqa: BLE001
        if not REPORTED:
            print(f"error: {type(exc).__name__}: {str(exc)[:120]} | session broken")


if __name__ == "__main__":
    main()
