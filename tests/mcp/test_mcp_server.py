"""``baton mcp`` over stdio, driven by the MCP SDK's own client, against a running embedded Baton
whose tickets land in the sandbox Zendesk."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from typing import Any

import anyio
import jsonschema
import pytest
from mcp import Client
from mcp_types import CallToolResult, TextContent, TextResourceContents

from baton.core.handoff import TRIGGER_KINDS
from baton.webhooks.embedded import free_port
from tests.mcp.conftest import RunningBaton, example_arguments, mcp_client, mcp_parameters
from tests.support.paths import EXPLICIT_HUMAN, FAILED_IDENTITY, VIP_REFUND, example_files


def _answer(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def _error_text(result: CallToolResult) -> str:
    assert result.is_error
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


def _wait_for_port(port: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("baton mcp --transport http did not start")


def _with_conversation(arguments: dict[str, Any], conversation: str) -> dict[str, Any]:
    return {**arguments, "conversation_id": conversation}


def test_tools_schema_and_policy(running_baton: RunningBaton) -> None:
    async def scenario() -> None:
        async with mcp_client(running_baton.url) as client:
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            policy = await client.read_resource("baton://escalation-policy")
        assert set(tools) == {"escalate_to_human", "handoff_status"}
        schema = tools["escalate_to_human"].input_schema
        validator = jsonschema.Draft202012Validator(schema)
        for path in example_files():
            errors = [e.message for e in validator.iter_errors(example_arguments(path))]
            assert errors == [], path.name
        # The vocabulary stays lenient: a word Baton accepts as 'other' is not refused here.
        lenient = example_arguments(VIP_REFUND)
        lenient["triggers"] = [{"kind": "frustration"}]
        lenient["channel"] = "whatsapp"
        lenient["escalation_number"] = 2
        assert list(validator.iter_errors(lenient)) == []
        # …while the structure stays strict.
        missing = example_arguments(VIP_REFUND)
        del missing["summary"]
        assert not validator.is_valid(missing)
        assert not validator.is_valid({**lenient, "escalation_number": 0})
        text = policy.contents[0]
        assert isinstance(text, TextResourceContents)
        assert "VIP billing: when the intent is billing.* and the customer's tier is" in text.text
        assert all(f"- `{kind}`:" in text.text for kind in TRIGGER_KINDS)

    anyio.run(scenario)


def test_escalate_makes_one_ticket_and_status_shows_it(running_baton: RunningBaton) -> None:
    arguments = _with_conversation(example_arguments(VIP_REFUND), "mcp-conv-vip")

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        async with mcp_client(running_baton.url) as client:
            first = _answer(await client.call_tool("escalate_to_human", arguments))
            again = _answer(await client.call_tool("escalate_to_human", arguments))
            status = _answer(
                await client.call_tool("handoff_status", {"handoff_id": first["handoff_id"]})
            )
        return first, again, status

    first, again, status = anyio.run(scenario)
    tickets = running_baton.zendesk_tickets(first["handoff_id"])
    assert len(tickets) == 1
    ticket_id = str(tickets[0]["id"])
    assert first["ticket"]["platform"] == "zendesk"
    assert first["ticket"]["id"] == ticket_id
    assert first["ticket"]["url"]
    assert first["status_url"] == f"{running_baton.url}/v1/handoffs/{first['handoff_id']}"
    assert first["already_received"] is False
    # The doubled call: the same handoff and ticket, never a 409.
    assert again["handoff_id"] == first["handoff_id"]
    assert again["ticket"] == first["ticket"]
    assert again["already_received"] is True
    assert status["handoff_id"] == first["handoff_id"]
    assert status["ticket"] == first["ticket"]
    assert status["state"] == "delivered"  # a ticket exists, so the delivery is done
    assert set(status) >= {"disposition", "human_holds_conversation", "latest_reply"}
    assert isinstance(status["human_holds_conversation"], bool)


def test_two_clients_at_once_make_one_ticket(running_baton: RunningBaton) -> None:
    arguments = _with_conversation(example_arguments(EXPLICIT_HUMAN), "mcp-conv-twice")
    answers: list[dict[str, Any]] = []

    async def call(client: Client) -> None:
        answers.append(_answer(await client.call_tool("escalate_to_human", arguments)))

    async def scenario() -> None:
        async with (
            mcp_client(running_baton.url) as one,
            mcp_client(running_baton.url) as two,
            anyio.create_task_group() as group,
        ):
            group.start_soon(call, one)
            group.start_soon(call, two)

    anyio.run(scenario)
    assert len(answers) == 2
    assert answers[0]["handoff_id"] == answers[1]["handoff_id"]
    tickets = running_baton.zendesk_tickets(answers[0]["handoff_id"])
    assert len(tickets) == 1
    assert answers[0]["ticket"]["id"] == answers[1]["ticket"]["id"] == str(tickets[0]["id"])
    assert sorted(a["already_received"] for a in answers) == [False, True]


def test_status_answers_only_for_this_sessions_handoffs(running_baton: RunningBaton) -> None:
    arguments = _with_conversation(example_arguments(FAILED_IDENTITY), "mcp-conv-other")

    async def scenario() -> tuple[dict[str, Any], str, str, str]:
        async with mcp_client(running_baton.url) as owner:
            made = _answer(await owner.call_tool("escalate_to_human", arguments))
        async with mcp_client(running_baton.url) as stranger:
            foreign = await stranger.call_tool("handoff_status", {"handoff_id": made["handoff_id"]})
            unknown = await stranger.call_tool("handoff_status", {"handoff_id": "no-such-handoff"})
            empty = await stranger.call_tool("handoff_status", {})
        return made, _error_text(foreign), _error_text(unknown), _error_text(empty)

    made, foreign, unknown, empty = anyio.run(scenario)
    assert made["ticket"] is not None
    assert "not a handoff this session created" in foreign
    assert "not a handoff this session created" in unknown
    assert empty.startswith("handoff_id:")


def test_a_bad_handoff_is_a_tool_error_naming_the_field(running_baton: RunningBaton) -> None:
    arguments = _with_conversation(example_arguments(VIP_REFUND), "mcp-conv-bad")
    arguments["intent"] = "Not An Intent"

    async def scenario() -> str:
        async with mcp_client(running_baton.url) as client:
            return _error_text(await client.call_tool("escalate_to_human", arguments))

    text = anyio.run(scenario)
    assert "intent" in text
    assert "Not An Intent" not in text


@pytest.mark.parametrize("api_key", ["", "short"])
def test_refuses_to_start_without_a_usable_key(api_key: str) -> None:
    parameters = mcp_parameters("http://127.0.0.1:9", api_key)
    finished = subprocess.run(
        [sys.executable, *parameters.args],
        env=parameters.env,
        cwd=parameters.cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 2
    assert "BATON_API_KEY" in finished.stderr


def test_streamable_http_serves_the_same_tools(running_baton: RunningBaton) -> None:
    port = free_port()
    parameters = mcp_parameters(running_baton.url)
    args = [*parameters.args, "--transport", "http", "--port", str(port)]
    process = subprocess.Popen(
        [sys.executable, *args],
        env=parameters.env,
        cwd=parameters.cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    arguments = _with_conversation(example_arguments(VIP_REFUND), "mcp-conv-http")

    async def scenario() -> tuple[set[str], dict[str, Any], dict[str, Any]]:
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            made = _answer(await client.call_tool("escalate_to_human", arguments))
            status = _answer(
                await client.call_tool("handoff_status", {"handoff_id": made["handoff_id"]})
            )
        return names, made, status

    try:
        _wait_for_port(port)
        names, made, status = anyio.run(scenario)
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert names == {"escalate_to_human", "handoff_status"}
    assert status["ticket"] == made["ticket"] is not None
