"""Measures what the official MCP Python SDK's ClientSession offers for MCP Tasks against reach-server.

usage: tasks_probe.py URL API_KEY

Connects over Streamable HTTP at default settings, and prints one JSON line: the negotiated
protocol version, the tasks capability and run_command's execution.taskSupport as the SDK parsed
them, whether ClientSession has any task method or a `task` parameter on call_tool, and whether
the SDK's method table knows tasks/get, tasks/result and tasks/cancel at the negotiated version.
"""

import asyncio
import inspect
import json
import sys

import httpx2
import mcp
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp_types import methods


async def main():
    url, key = sys.argv[1], sys.argv[2]
    out = {}
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"})
    async with streamable_http_client(url, http_client=http) as streams:
        async with ClientSession(streams[0], streams[1]) as session:
            init = await session.initialize()
            version = init.protocol_version
            out["protocol_version"] = version
            tasks = init.capabilities.tasks
            out["server_tasks_capability"] = tasks.model_dump(by_alias=True, exclude_none=True) if tasks else None
            tools = (await session.list_tools()).tools
            run = next(t for t in tools if t.name == "run_command")
            out["run_command_task_support"] = run.execution.task_support if run.execution else None
            out["session_task_methods"] = sorted(
                n for n in dir(ClientSession) if "task" in n.lower() and not n.startswith("_")
            )
            out["call_tool_task_param"] = "task" in inspect.signature(ClientSession.call_tool).parameters
            out["known_task_methods"] = sorted(
                m for m in ("tasks/get", "tasks/result", "tasks/cancel", "tasks/list")
                if (m, version) in methods.CLIENT_REQUESTS
            )
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main())
