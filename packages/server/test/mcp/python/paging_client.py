"""Drives reach-server with the official MCP Python SDK at its default settings.

usage: paging_client.py http|sse URL FILE

Runs `cat FILE` (a big output) and reads FILE, both of which come back cut to the server's result
cap, then pages the whole of each (read_output, read_file offset/length) and checks its SHA-256,
and finally makes one more call on the same session. Prints one JSON line of findings on stdout;
exits non-zero on any failure.
"""

import asyncio
import base64
import hashlib
import json
import sys

from mcp import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client


def body(result):
    assert len(result.content) == 1, result
    data = json.loads(result.content[0].text)
    assert not result.is_error, data
    return data


def page_bytes(page):
    return base64.b64decode(page["content"]) if page.get("binary") else page["content"].encode("utf-8")


async def page_all(session, tool, args):
    digest = hashlib.sha256()
    offset, pages, largest = 0, 0, 0
    while True:
        result = await session.call_tool(tool, {**args, "offset": offset})
        largest = max(largest, len(result.content[0].text))
        page = body(result)
        assert page["offset"] == offset, page
        digest.update(page_bytes(page))
        offset += page["length"]
        pages += 1
        if page["eof"]:
            return {"sha256": digest.hexdigest(), "bytes": offset, "pages": pages, "largest_result": largest}
        assert page["length"] > 0, page


async def drive(session, path):
    await session.initialize()
    out = {}
    ran = await session.call_tool("run_command", {"cmd": f"cat '{path}'"})
    out["run_command_result_chars"] = len(ran.content[0].text)
    r = body(ran)
    out["run_command"] = {k: r.get(k) for k in ("truncated", "stdout_bytes", "stderr_bytes", "returncode")}
    out["run_command"]["stdout_json_bytes"] = len(json.dumps(r["stdout"], ensure_ascii=False).encode())
    out["auto_selected_client"] = r.get("auto_selected_client")
    out["output_paged"] = await page_all(session, "read_output", {"output_id": r["output_id"], "stream": "stdout"})

    first = await session.call_tool("read_file", {"path": path})
    out["read_file_result_chars"] = len(first.content[0].text)
    f = body(first)
    out["read_file"] = {k: f.get(k) for k in ("size", "offset", "length", "eof")}
    out["file_paged"] = await page_all(session, "read_file", {"path": path})

    # The session is still usable after all of that.
    after = body(await session.call_tool("run_command", {"cmd": "echo still-here"}))
    out["after"] = after["stdout"]
    return out


async def main():
    transport, url, path = sys.argv[1], sys.argv[2], sys.argv[3]
    opener = streamable_http_client(url) if transport == "http" else sse_client(url)
    async with opener as streams:
        read_stream, write_stream = streams[0], streams[1]
        async with ClientSession(read_stream, write_stream) as session:
            out = await drive(session, path)
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main())
