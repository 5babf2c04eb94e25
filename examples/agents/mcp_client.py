"""A plain MCP client: start ``baton mcp`` over stdio, list its tools, escalate a conversation
with escalate_to_human, then ask handoff_status. What an MCP host does on a model's behalf.

    BATON_URL=http://127.0.0.1:8600 BATON_API_KEY=… python mcp_client.py
"""

import asyncio
import json
import os
import sys
import uuid
from importlib.resources import files
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters


def answer(result: Any) -> dict[str, Any]:
    """A tool's structured answer; a tool error ends the recipe with its text."""
    if result.is_error:
        sys.exit(f"tool error: {result.content[0].text}")
    structured: dict[str, Any] = result.structured_content
    return structured


async def main() -> None:
    """Escalate an example conversation through ``baton mcp`` and print its ticket link."""
    server = StdioServerParameters(
        command=str(Path(sys.executable).with_name("baton")),  # installed beside this Python
        args=["mcp"],
        env={
            "BATON_URL": os.environ.get("BATON_URL", "http://127.0.0.1:8600"),
            "BATON_API_KEY": os.environ["BATON_API_KEY"],
        },
    )
    example = files("baton.examples") / "handoffs" / "02-explicit-human-request.json"
    handoff = json.loads(example.read_text())
    del handoff["id"], handoff["created_at"]  # the tool derives the id from the conversation
    handoff["conversation_id"] = f"conv-{uuid.uuid4().hex[:12]}"

    async with Client(server) as client:
        tools = await client.list_tools()
        print("tools:", ", ".join(tool.name for tool in tools.tools))
        escalated = answer(await client.call_tool("escalate_to_human", handoff))
        handoff_id = escalated["handoff_id"]
        status = answer(await client.call_tool("handoff_status", {"handoff_id": handoff_id}))
    ticket = status["ticket"] or {}
    print(f"handoff {handoff_id}: {status['state']}, ticket {ticket.get('url')}")


if __name__ == "__main__":
    asyncio.run(main())
