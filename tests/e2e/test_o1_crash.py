"""O1 end to end on every delivering platform with a sandbox: a real ``kill -9`` of
``baton worker`` in the crash window, then a restart.

The window O1 is about lies between the platform applying a create and Baton committing the
ticket link. A worker that dies there leaves a ticket on the platform that Baton knows nothing
about; its delivery row is still leased, with one attempt counted. When the lease runs out the
next worker claims the row again (attempt 2, so not a first attempt): the connector then looks
the ticket up by the handoff id (Zendesk's ``external_id``, Salesforce's external-id field)
before creating anything, finds the one that is already there, and Baton links to it. Exactly
one ticket with one note, whatever the timing: on Zendesk the note is the create's first
comment; on Salesforce it is a private CaseComment carrying Baton's note marker, which the
restarted worker finds and does not post again (O7).

The window is exercised against each platform's sandbox (started through its plugin, running
in the test process) with the worker as a separate OS process on SQLite and on PostgreSQL
(a private schema):

* answered, then killed (O1 as properties.py states it): the worker runs through
  ``o1_answered_then_killed.py``, whose connector ``create_ticket`` SIGKILLs its own process
  right after the real call returned: the platform created the ticket and answered, the
  connector had the answer, Baton had not committed. The test waits out the 2 s lease and
  runs ``baton worker --once``.
* ``latency_after_commit``: the sandbox creates the ticket and holds the answer back for 30 s;
  while the worker waits for it, the test sends SIGKILL (nothing of the answer reached it, and
  nothing was committed), waits out the lease and runs ``baton worker --once``.
* ``drop_after_commit``: the sandbox creates the ticket and drops the connection; the worker
  sees a connection error and schedules a retry (the backoff is at least 30 s). The test kills
  the worker, moves the retry's due time to now instead of waiting out the backoff, and runs
  ``baton worker --once``.

Tickets and notes are counted through the platform's API and the calls through the sandbox's
request log (``tests/e2e/desks.py``): one create in all, then the restarted worker's look-up
by the handoff id.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

import pytest
from sqlalchemy import make_url, update

from baton.core.store import DeliveryView, Store
from baton.core.tables import DeliveryRow
from baton.core.times import utcnow
from tests.e2e.desks import Desk, running_desk, sandbox_platforms
from tests.support.paths import MAPPINGS, example_handoff

if TYPE_CHECKING:
    from tests.conftest import Database

ANSWERED_THEN_KILLED = Path(__file__).with_name("o1_answered_then_killed.py")
LEASE_SECONDS = 2.0
RESETS = 100  # more look-ups than one claim's quick tries make
HELD_ANSWER_SECONDS = 30.0  # far longer than the test needs to kill the worker
WAIT_SECONDS = 20.0  # bound on every wait for the worker

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(params=sandbox_platforms())
def desk(request: pytest.FixtureRequest) -> Iterator[Desk]:
    """Each delivering platform's sandbox on a free local port, seeded from its catalog."""
    with running_desk(request.param) as running:
        yield running


# --- the database and the worker processes ------------------------------------------------


@dataclass
class Setup:
    """A migrated store with one pending Zendesk delivery, and the workers' env."""

    store: Store
    handoff_id: str
    env: dict[str, str]
    logs: Path


def worker_database_url(database: Database) -> str:
    """``database``'s URL for another process: PostgreSQL's search_path rides in the URL."""
    options = database.engine_kwargs.get("connect_args", {}).get("options")
    if not options:
        return database.url
    url = make_url(database.url).update_query_dict({"options": options})
    return url.render_as_string(hide_password=False)


@pytest.fixture
def setup(desk: Desk, database: Database, tmp_path: Path) -> Iterator[Setup]:
    """The example VIP refund handoff stored for the desk's platform (on each backend); env
    pointing at the desk's sandbox."""
    url = worker_database_url(database)
    store = database.new_store()
    try:
        store.migrate()
        handoff = example_handoff()
        store.add_handoff(handoff, desk.platform)
        [delivery] = store.list_deliveries()
        assert (delivery.state, delivery.attempts) == ("pending", 0)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BATON_", "ZENPY_"))}
        env.update(
            desk.env,
            BATON_DATABASE_URL=url,
            BATON_MAPPINGS_DIR=str(MAPPINGS),
        )
        # the held answer must not time out on its own
        env[f"{desk.plugin.settings_prefix}TIMEOUT"] = "60"
        yield Setup(store, handoff.id, env, tmp_path)
    finally:
        store.close()


def baton_command(*args: str) -> list[str]:
    """The installed ``baton`` console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("baton")
    if script.exists():
        return [str(script), *args]
    code = "from baton.webhooks.cli import app; app(prog_name='baton')"
    return [sys.executable, "-c", code, *args]


class Worker:
    """``baton worker`` as a child process, its output in files; always killed at the end.

    ``launcher`` (a command prefix taking the worker's arguments) replaces ``baton worker``.
    """

    def __init__(
        self, setup: Setup, name: str, *args: str, launcher: list[str] | None = None
    ) -> None:
        self.out_path = setup.logs / f"{name}.out"
        self.err_path = setup.logs / f"{name}.err"
        self._out: IO[bytes] = self.out_path.open("wb")
        self._err: IO[bytes] = self.err_path.open("wb")
        worker_args = ["--lease-seconds", str(LEASE_SECONDS), *args]
        command = [*launcher, *worker_args] if launcher else baton_command("worker", *worker_args)
        self.proc = subprocess.Popen(
            command,
            env=setup.env,
            cwd=setup.logs,
            stdout=self._out,
            stderr=self._err,
        )

    def output(self) -> str:
        """What the worker printed so far (stdout, then stderr)."""
        self._out.flush()
        self._err.flush()
        return self.out_path.read_text(errors="replace") + self.err_path.read_text(errors="replace")

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.proc.poll() is None

    def kill_9(self) -> int:
        """SIGKILL the worker and reap it; its return code."""
        os.kill(self.proc.pid, signal.SIGKILL)
        return self.proc.wait(timeout=WAIT_SECONDS)

    def wait(self) -> int:
        """Wait (bounded) for the worker to exit by itself; its exit code."""
        return self.proc.wait(timeout=WAIT_SECONDS)

    def close(self) -> None:
        """Kill the process if it still runs; close the output files."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=WAIT_SECONDS)
        self._out.close()
        self._err.close()


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    """Worker processes started by the test; each is killed and reaped afterwards."""
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.close()


def start_worker(
    workers: list[Worker], setup: Setup, name: str, *args: str, launcher: list[str] | None = None
) -> Worker:
    """Start ``baton worker`` (with ``args``; see :class:`Worker` for ``launcher``) and
    remember it for cleanup."""
    worker = Worker(setup, name, *args, launcher=launcher)
    workers.append(worker)
    return worker


def wait_until(what: str, done: Callable[[], object], worker: Worker) -> None:
    """Poll ``done()`` for up to WAIT_SECONDS while ``worker`` runs; fail with its output."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not done():
        if not worker.alive():
            pytest.fail(
                f"worker exited ({worker.proc.returncode}) before {what}:\n{worker.output()}"
            )
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {WAIT_SECONDS} s; worker output:\n{worker.output()}")
        time.sleep(0.05)


def the_delivery(store: Store) -> DeliveryView:
    """The only delivery in the store."""
    [delivery] = store.list_deliveries()
    return delivery


def restart(workers: list[Worker], setup: Setup) -> Worker:
    """Run ``baton worker --once`` to completion; it must exit 0 having delivered one."""
    worker = start_worker(workers, setup, "restart", "--once")
    code = worker.wait()
    output = worker.output()
    assert code == 0, output
    assert "1 delivered" in output, output
    return worker


def assert_one_ticket_with_one_note(desk: Desk, handoff_id: str) -> str:
    """Exactly one ticket carries the handoff id, with one note; its id."""
    tickets = desk.tickets_for(handoff_id)
    assert len(tickets) == 1, f"tickets carrying {handoff_id}: {tickets}"
    [ticket] = tickets
    if desk.profile.note_in_create:
        assert len(ticket.comments) == 1, ticket.comments  # the create's own comment
    else:
        assert ticket.notes_for(handoff_id) == 1, ticket.comments
    return ticket.id


def assert_one_ticket_linked(
    desk: Desk, setup: Setup, *, creates_logged: int = 1, calls_before: int = 1
) -> None:
    """Exactly one ticket with one note carries the handoff id, Baton links to it, found by a
    look-up. ``creates_logged``: 0 while the sandbox still holds the first create's answer
    (the request log records a request once it is answered). ``calls_before``: the calls
    counted before the restart (quick retries whose requests were reset included)."""
    # One create in all; the restarted worker looked the ticket up by the handoff id instead.
    assert len(desk.creates()) == creates_logged, desk.worker_requests()
    assert any(e.status is not None for e in desk.lookups(setup.handoff_id)), desk.worker_requests()
    ticket_id = assert_one_ticket_with_one_note(desk, setup.handoff_id)
    link = setup.store.ticket_link(setup.handoff_id)
    assert link is not None
    assert (link.platform, link.ticket_id) == (desk.platform, ticket_id)
    delivery = the_delivery(setup.store)
    assert (delivery.state, delivery.attempts) == ("delivered", calls_before + 1)


# --- the tests -----------------------------------------------------------------------------


def assert_uncommitted_then_restart_links_one_ticket(
    desk: Desk, setup: Setup, workers: list[Worker], *, creates_logged: int = 1
) -> None:
    """The kill came before Baton's commit: no link, the row still leased to the dead worker
    with one attempt. Once that lease has run out, a restarted worker links the one ticket."""
    assert setup.store.ticket_link(setup.handoff_id) is None
    delivery = the_delivery(setup.store)
    assert (delivery.state, delivery.attempts) == ("leased", 1)
    assert delivery.lease_expires_at is not None
    time.sleep(max(0.0, (delivery.lease_expires_at - datetime.now(UTC)).total_seconds()) + 0.3)
    restart(workers, setup)
    assert_one_ticket_linked(desk, setup, creates_logged=creates_logged)


def test_o1_kill_9_after_the_platform_answered_before_the_commit_then_restart_makes_one_ticket(
    desk: Desk, setup: Setup, workers: list[Worker]
) -> None:
    """O1: the worker SIGKILLs itself right after the connector's create returned the
    platform's answer, before Baton commits; a restarted worker links the one ticket."""
    answered = setup.logs / "answered"
    launcher = [sys.executable, str(ANSWERED_THEN_KILLED), desk.platform, str(answered)]
    first = start_worker(workers, setup, "first", launcher=launcher)
    assert first.wait() == -signal.SIGKILL, first.output()

    # The platform created the ticket and answered; the connector had the answer in hand.
    ticket_id = assert_one_ticket_with_one_note(desk, setup.handoff_id)
    assert answered.read_text() == ticket_id
    assert len(desk.creates()) == 1
    assert [e.fault for e in desk.worker_requests() if e.fault] == []

    assert_uncommitted_then_restart_links_one_ticket(desk, setup, workers)


def test_o1_kill_9_while_the_answer_to_an_applied_create_is_held_back_then_restart(
    desk: Desk, setup: Setup, workers: list[Worker]
) -> None:
    """O1's neighbour: SIGKILL while the platform holds back the answer to an applied
    create (the answer never reached the worker); the restart makes no second ticket."""
    desk.add_fault("latency_after_commit", seconds=HELD_ANSWER_SECONDS)
    first = start_worker(workers, setup, "first")
    wait_until("ticket in the sandbox", lambda: desk.tickets_for(setup.handoff_id), first)

    # The platform has the ticket; the worker is blocked reading the held answer.
    assert first.alive()
    assert first.kill_9() == -signal.SIGKILL
    assert desk.queued_faults() == []  # the held answer was the fault's
    assert desk.creates() == []  # still held: logged once answered, long after the test

    assert_uncommitted_then_restart_links_one_ticket(desk, setup, workers, creates_logged=0)


def test_o1_connection_dropped_after_the_create_then_kill_9_and_restart_makes_one_ticket(
    desk: Desk, setup: Setup, workers: list[Worker]
) -> None:
    """O1: the create is applied but the answer is lost; the worker's quick retries fail too
    (their calls are reset), so it schedules a retry in the outbox, and is killed."""
    desk.add_fault("drop_after_commit")
    # After a lost answer the worker looks the ticket up again within a fraction of a second;
    # with those look-ups reset, its quick tries fail and the delivery goes back to the outbox.
    desk.add_lookup_fault("reset", times=RESETS)
    first = start_worker(workers, setup, "first")

    def retry_scheduled() -> bool:
        delivery = the_delivery(setup.store)
        return delivery.state == "pending" and delivery.attempts >= 1

    wait_until("retry scheduled", retry_scheduled, first)
    assert first.kill_9() == -signal.SIGKILL
    desk.clear_faults()  # the resets the quick tries did not use
    assert [e.fault for e in desk.creates()] == ["drop_after_commit"]

    # The platform made the ticket; Baton only knows the create failed in transit.
    if desk.profile.note_follows_create:  # the note waits for the retry
        [ticket] = desk.tickets_for(setup.handoff_id)
        assert ticket.notes_for(setup.handoff_id) == 0, ticket.comments
    else:
        assert_one_ticket_with_one_note(desk, setup.handoff_id)
    assert setup.store.ticket_link(setup.handoff_id) is None
    delivery = the_delivery(setup.store)
    assert delivery.last_error is not None
    assert delivery.last_error.startswith("RetryableError"), delivery.last_error
    assert delivery.next_attempt_at > utcnow()

    # Fast-forward the backoff (≥ 30 s) rather than wait it out, then restart.
    with setup.store.session() as session:
        session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id == delivery.id)
            .values(next_attempt_at=utcnow())
        )
    restart(workers, setup)

    assert_one_ticket_linked(desk, setup, calls_before=delivery.attempts)
