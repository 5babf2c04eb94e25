"""A LangGraph agent with a human-in-the-loop node: it escalates through Baton, pauses while a
person has the conversation, and speaks again once Baton's callback says the human stretch is
over (``conversation.returned``).

The model is scripted (``model``, below): no LLM, no network. The callback receiver is
callback_receiver.py's, started here on BATON_CALLBACK_URL — give this the values Baton runs with:

    export BATON_URL=http://127.0.0.1:8600 BATON_API_KEY=…
    export BATON_CALLBACK_URL=http://127.0.0.1:8700/baton BATON_CALLBACK_SECRETS=whsec_…
    python langgraph_handoff.py
"""

import operator
import os
import queue
import threading
import uuid
from typing import Annotated, Any, TypedDict

from callback_receiver import receiver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from baton.client import BatonClient


class State(TypedDict, total=False):
    conversation_id: str
    messages: Annotated[list[str], operator.add]
    handoff_id: str
    returned: bool


def model(state: State) -> dict[str, Any]:
    """Stands in for the LLM: hands over first, welcomes the customer back afterwards."""
    if state.get("returned"):
        return {"messages": ["agent: Welcome back! Is there anything else I can do?"]}
    return {"messages": ["agent: I'm passing you to a colleague now."]}


def escalate(state: State) -> dict[str, Any]:
    """Hand the conversation to a person through Baton; print the ticket link."""
    url = os.environ.get("BATON_URL", "http://127.0.0.1:8600")
    with BatonClient(url, os.environ["BATON_API_KEY"]) as baton:
        accepted = baton.handoff(
            {
                "conversation_id": state["conversation_id"],
                "channel": "chat",
                "intent": "orders.missing_item",
                "triggers": [{"kind": "explicit_request"}],
                "summary": "The frother was missing from the delivery; the customer wants a "
                "person to get it to them by tomorrow.",
            }
        )
        ticket = baton.wait(accepted.id, until="ticket", timeout=30).ticket
    print(f"handoff {accepted.id}: ticket {ticket.url if ticket else None}", flush=True)
    return {"handoff_id": accepted.id}


def human(state: State) -> dict[str, Any]:
    """Pause until resumed with Baton's conversation.returned event. A node runs again from
    its start on resume, which is why escalating is a node of its own."""
    event = interrupt({"waiting_for": state["handoff_id"]})
    return {"returned": True, "messages": [f"(a person finished: {event['data']['reason']})"]}


graph = StateGraph(State)
graph.add_node("model", model)
graph.add_node("escalate", escalate)
graph.add_node("human", human)
graph.add_edge(START, "model")
graph.add_conditional_edges("model", lambda s: END if s.get("returned") else "escalate")
graph.add_edge("escalate", "human")
graph.add_edge("human", "model")
agent = graph.compile(checkpointer=InMemorySaver())  # keeps the paused graph's state


if __name__ == "__main__":
    events: queue.Queue[dict[str, Any]] = queue.Queue()
    server = receiver(events.put)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    conversation_id = f"conv-{uuid.uuid4().hex[:12]}"
    config: Any = {"configurable": {"thread_id": conversation_id}}
    start: State = {"conversation_id": conversation_id, "messages": ["customer: a human please"]}
    paused = agent.invoke(start, config)  # runs up to the interrupt in `human`
    while True:  # a person works the ticket: hours in real life
        event = events.get()
        done = event["type"] == "conversation.returned"
        if done and event["data"]["handoff_id"] == paused["handoff_id"]:
            break
    final = agent.invoke(Command(resume=event), config)
    print("\n".join(final["messages"]))
    server.shutdown()
