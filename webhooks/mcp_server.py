"""``baton mcp``: Baton as an MCP server, for agents whose host speaks the Model Context Protocol.

Built on the official SDK's low-level :class:`mcp.server.lowlevel.Server`, because the tool's
input schema is the handoff's own (:mod:`baton.webhooks.mcp_schema`), not one derived from a
Python signature. It talks to a running Baton service with :mod:`baton.client`.

- ``escalate_to_human``: posts a handoff; answers its id, status URL and, when the ticket is
  made within a few seconds, the ticket link.
- ``handoff_status``: a handoff's state, ticket, current disposition, whether a human holds
  the conversation and the latest public reply; only for handoffs this session created.
- ``baton://escalation-policy``: the deployment's escalation policy in words.

A session is the client's connection: over stdio the whole process (one client), over
streamable HTTP the ``Mcp-Session-Id`` the SDK issues (requests without one share one ledger).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError
from starlette.requests import Request

from baton.client import (
    AsyncBatonClient,
    BatonError,
    HandoffConflict,
    HandoffStatus,
    InvalidHandoff,
    NotFound,
    ServiceUnavailable,
    TransportError,
    Unauthorized,
    WaitTimeout,
)
from baton.core.errors import ValidationError
from baton.core.handoff import is_handoff_id
from baton.webhooks.mcp_policy import POLICY_URI
from baton.webhooks.mcp_schema import handoff_from_arguments, tool_input_schema

SERVER_NAME = "baton"
ESCALATE = "escalate_to_human"
STATUS = "handoff_status"
TICKET_WAIT_SECONDS = 5.0
SESSION_HEADER = "mcp-session-id"
_STDIO_SESSION = ""

INSTRUCTIONS = (
    "Baton hands a conversation to a person at the help desk. Call escalate_to_human when the "
    "customer needs a person (read baton://escalation-policy for when, and where it goes), "
    "then tell the customer a person will take over. While handoff_status says a human holds "
    "the conversation, do not answer the customer yourself."
)

_ESCALATE_DESCRIPTION = (
    "Hand this conversation to a human at the help desk, exactly once. Use it when the "
    "customer asks for a person or the escalation policy (resource baton://escalation-policy) "
    "says so. Give what a person needs to take over without re-reading the conversation: the "
    "intent, why (triggers), a summary, next steps and verified facts. Calling it again with "
    "the same conversation_id and escalation_number is safe: it returns the same handoff and "
    "ticket. Answers the handoff id, its status URL and, once made, the ticket link."
)
_STATUS_DESCRIPTION = (
    "Where a handoff made by escalate_to_human in this session stands: its state, the ticket "
    "link, the help desk's disposition (open, pending, resolved …), whether a human holds the "
    "conversation now (then stay quiet) and the latest public reply a person sent the customer."
)
_STATUS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "handoff_id": {
            "type": "string",
            "description": "The id escalate_to_human answered.",
        }
    },
    "required": ["handoff_id"],
    "additionalProperties": False,
}


class ToolRefusal(Exception):
    """A call the tool answers with an error result (the model's to read and correct)."""


@dataclass
class Ledger:
    """The handoff ids each session created: ``handoff_status`` answers for those only."""

    created: dict[str, set[str]] = field(default_factory=dict)

    def add(self, session: str, handoff_id: str) -> None:
        """Record that ``session`` created (or re-sent) ``handoff_id``."""
        self.created.setdefault(session, set()).add(handoff_id)

    def holds(self, session: str, handoff_id: str) -> bool:
        """Whether ``session`` created ``handoff_id``."""
        return handoff_id in self.created.get(session, set())


def session_key(ctx: ServerRequestContext[Any, Any]) -> str:
    """The session a request belongs to (see the module docstring)."""
    request = ctx.request
    if isinstance(request, Request):
        return request.headers.get(SESSION_HEADER, _STDIO_SESSION)
    return _STDIO_SESSION


@dataclass
class BatonMcp:
    """The MCP server's state: where Baton is, the policy text and the session ledger."""

    base_url: str
    api_key: str
    policy: str
    ticket_wait: float = TICKET_WAIT_SECONDS
    ledger: Ledger = field(default_factory=Ledger)

    def server(self) -> Server[AsyncBatonClient]:
        """The low-level MCP server with Baton's tools and resource."""
        return Server(
            SERVER_NAME,
            title="Baton",
            instructions=INSTRUCTIONS,
            lifespan=self._lifespan,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            on_list_resources=self._list_resources,
            on_read_resource=self._read_resource,
        )

    @asynccontextmanager
    async def _lifespan(self, _server: Server[AsyncBatonClient]) -> AsyncIterator[AsyncBatonClient]:
        async with AsyncBatonClient(self.base_url, self.api_key) as client:
            yield client

    async def _list_tools(
        self,
        _ctx: ServerRequestContext[AsyncBatonClient, Any],
        _params: types.PaginatedRequestParams | None,
    ) -> types.ListToolsResult:
        escalate = types.Tool(
            name=ESCALATE,
            title="Escalate to a human",
            description=_ESCALATE_DESCRIPTION,
            input_schema=tool_input_schema(),
            annotations=types.ToolAnnotations(
                destructive_hint=False, idempotent_hint=True, open_world_hint=True
            ),
        )
        status = types.Tool(
            name=STATUS,
            title="Handoff status",
            description=_STATUS_DESCRIPTION,
            input_schema=_STATUS_SCHEMA,
            annotations=types.ToolAnnotations(read_only_hint=True, open_world_hint=True),
        )
        return types.ListToolsResult(tools=[escalate, status])

    async def _call_tool(
        self,
        ctx: ServerRequestContext[AsyncBatonClient, Any],
        params: types.CallToolRequestParams,
    ) -> types.CallToolResult:
        client, arguments = ctx.lifespan_context, dict(params.arguments or {})
        try:
            if params.name == ESCALATE:
                answer = await self.escalate(client, session_key(ctx), arguments)
            elif params.name == STATUS:
                answer = await self.status(client, session_key(ctx), arguments)
            else:
                raise ToolRefusal(f"unknown tool; this server has {ESCALATE} and {STATUS}")
        except ToolRefusal as exc:
            return _error(str(exc))
        return types.CallToolResult(
            content=[types.TextContent(text=json.dumps(answer, ensure_ascii=False))],
            structured_content=answer,
        )

    async def escalate(
        self, client: AsyncBatonClient, session: str, arguments: dict[str, Any]
    ) -> dict[str, Any]:
        """Post the handoff, wait briefly for its ticket; the answer for the model."""
        with _refusals():
            document = handoff_from_arguments(arguments)
            accepted = await client.handoff(document)
        self.ledger.add(session, accepted.id)
        answer: dict[str, Any] = {
            "handoff_id": accepted.id,
            "status_url": urljoin(self.base_url + "/", accepted.status_url),
            "platform": accepted.platform,
            "already_received": accepted.existing,
        }
        if accepted.warnings:
            answer["warnings"] = [f"{w.path}: {w.message}" for w in accepted.warnings]
        try:
            with _refusals():
                status = await client.wait(accepted.id, until="ticket", timeout=self.ticket_wait)
        except (ToolRefusal, WaitTimeout):
            status = None
        answer.update(_ticket_fields(status))
        return answer

    async def status(
        self, client: AsyncBatonClient, session: str, arguments: dict[str, Any]
    ) -> dict[str, Any]:
        """The handoff's status, if this session created it."""
        handoff_id = arguments.get("handoff_id")
        if not isinstance(handoff_id, str) or not is_handoff_id(handoff_id):
            raise ToolRefusal("handoff_id: give the id escalate_to_human answered")
        if not self.ledger.holds(session, handoff_id):
            raise ToolRefusal(
                "handoff_id: not a handoff this session created; handoff_status answers only "
                "for handoffs escalate_to_human made in this session"
            )
        with _refusals():
            status = await client.status(handoff_id)
        reply = status.latest_reply
        return {
            "handoff_id": status.id,
            "state": status.status,
            "platform": status.platform,
            **_ticket_fields(status),
            "disposition": status.disposition,
            "human_holds_conversation": status.human_holds_conversation,
            "latest_reply": None if reply is None else reply.model_dump(mode="json"),
        }

    async def _list_resources(
        self,
        _ctx: ServerRequestContext[AsyncBatonClient, Any],
        _params: types.PaginatedRequestParams | None,
    ) -> types.ListResourcesResult:
        policy = types.Resource(
            uri=POLICY_URI,
            name="escalation-policy",
            title="Escalation policy",
            description="When to escalate, and where each handoff goes (the routing rules).",
            mime_type="text/markdown",
        )
        return types.ListResourcesResult(resources=[policy])

    async def _read_resource(
        self,
        _ctx: ServerRequestContext[AsyncBatonClient, Any],
        params: types.ReadResourceRequestParams,
    ) -> types.ReadResourceResult:
        if str(params.uri) != POLICY_URI:
            raise MCPError(types.INVALID_PARAMS, f"unknown resource; this server has {POLICY_URI}")
        contents = types.TextResourceContents(
            uri=POLICY_URI, text=self.policy, mime_type="text/markdown"
        )
        return types.ReadResourceResult(contents=[contents])


def _ticket_fields(status: HandoffStatus | None) -> dict[str, Any]:
    ticket = None if status is None else status.ticket
    if ticket is None:
        return {"ticket": None, "note": "no ticket yet: ask handoff_status in a moment"}
    return {"ticket": {"platform": ticket.platform, "id": ticket.id, "url": ticket.url}}


@contextmanager
def _refusals() -> Iterator[None]:
    """Baton's errors as tool refusals the model can act on (never the key or handoff text)."""
    try:
        yield
    except (InvalidHandoff, ValidationError) as exc:
        paths = "; ".join(f"{p.path or '<root>'}: {p.message}" for p in exc.problems)
        raise ToolRefusal(f"the handoff is not valid: {paths}") from None
    except HandoffConflict:
        raise ToolRefusal(
            "this handoff id was already used for a different handoff: for a new escalation "
            "of the same conversation, raise escalation_number"
        ) from None
    except NotFound:
        raise ToolRefusal("Baton has no handoff with this id") from None
    except Unauthorized:
        raise ToolRefusal("Baton refused the MCP server's API key (BATON_API_KEY)") from None
    except (ServiceUnavailable, TransportError):
        raise ToolRefusal("Baton is unreachable or busy right now: try again shortly") from None
    except WaitTimeout:
        raise
    except BatonError as exc:
        raise ToolRefusal(f"Baton refused the call: {exc}") from None


def _error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=message)], is_error=True)


async def serve_stdio(baton: BatonMcp) -> None:
    """Serve one MCP client over this process's stdin and stdout until it closes them."""
    from mcp.server.stdio import stdio_server

    server = baton.server()
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def serve_http(baton: BatonMcp, host: str, port: int) -> None:
    """Serve MCP over streamable HTTP at ``http://host:port/mcp`` (blocks until stopped)."""
    import uvicorn

    app = baton.server().streamable_http_app(host=host)
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)


__all__ = ["ESCALATE", "STATUS", "BatonMcp", "Ledger", "serve_http", "serve_stdio", "session_key"]
