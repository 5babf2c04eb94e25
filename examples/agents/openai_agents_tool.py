"""An OpenAI Agents SDK agent whose function tool hands the conversation to a person via Baton.

The model is scripted (ScriptedModel, below) so this runs with no OpenAI key and no network: it
calls escalate_to_human, then tells the customer. With a real model, leave out ``model=``.

    BATON_URL=http://127.0.0.1:8600 BATON_API_KEY=… python openai_agents_tool.py
"""

import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from agents import (
    Agent,
    Model,
    ModelResponse,
    RunContextWrapper,
    Runner,
    TResponseInputItem,
    Usage,
    function_tool,
    set_tracing_disabled,
)
from openai.types.responses import (
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
)

from baton.client import AsyncBatonClient


@dataclass
class Conversation:
    """What the application knows; the model never sees or invents it."""

    id: str
    channel: str = "chat"


@function_tool
async def escalate_to_human(
    ctx: RunContextWrapper[Conversation],
    intent: str,
    reason: str,
    summary: str,
    next_steps: list[str],
) -> str:
    """Hand this conversation to a person at the help desk, when the customer asks for one or
    you cannot help.

    Args:
        intent: what the customer wants, dotted: billing.refund, orders.missing_item …
        reason: explicit_request, sentiment, risk, policy, low_confidence or other.
        summary: what a person needs to take over without re-reading the conversation.
        next_steps: what the person should do first.
    """
    url = os.environ.get("BATON_URL", "http://127.0.0.1:8600")
    async with AsyncBatonClient(url, os.environ["BATON_API_KEY"]) as baton:
        accepted = await baton.handoff(
            {
                "conversation_id": ctx.context.id,
                "channel": ctx.context.channel,
                "intent": intent,
                "triggers": [{"kind": reason}],
                "summary": summary,
                "next_steps": next_steps,
            }
        )
        status = await baton.wait(accepted.id, until="ticket", timeout=30)
    link = status.ticket.url if status.ticket else None
    print(f"handoff {accepted.id}: ticket {link}")
    return json.dumps({"ticket_url": link})


class ScriptedModel(Model):
    """Stands in for the LLM: first asks for the tool, then answers with what it returned."""

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        *args: Any,
        **kwargs: Any,
    ) -> ModelResponse:
        outputs = [
            i for i in input if isinstance(i, dict) and i.get("type") == "function_call_output"
        ]
        if not outputs:
            arguments = {
                "intent": "orders.missing_item",
                "reason": "explicit_request",
                "summary": "The milk frother was missing from today's delivery; the customer "
                "needs it by tomorrow and asked for a person.",
                "next_steps": ["Offer a courier replacement for tomorrow or a refund"],
            }
            call = ResponseFunctionToolCall(
                type="function_call",
                call_id=f"call_{uuid.uuid4().hex}",
                name="escalate_to_human",
                arguments=json.dumps(arguments),
            )
            return ModelResponse(output=[call], usage=Usage(), response_id=None)
        link = json.loads(str(outputs[-1].get("output")))["ticket_url"]
        text = f"A colleague will take it from here; your ticket is {link}"
        reply = ResponseOutputMessage(
            id="msg_1",
            type="message",
            role="assistant",
            status="completed",
            content=[ResponseOutputText(type="output_text", text=text, annotations=[])],
        )
        return ModelResponse(output=[reply], usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        raise NotImplementedError("this recipe does not stream")


if __name__ == "__main__":
    set_tracing_disabled(True)  # no OpenAI key here, so no traces to upload
    agent = Agent[Conversation](
        name="Support",
        instructions="Help the customer; escalate_to_human when they ask for a person.",
        tools=[escalate_to_human],
        model=ScriptedModel(),
    )
    conversation = Conversation(id=f"conv-{uuid.uuid4().hex[:12]}")
    customer = "The frother is missing and Monday is too late. A human please."
    result = Runner.run_sync(agent, customer, context=conversation)
    print(result.final_output)
