"""``baton worker``, ``baton deliveries``, ``baton sync`` and ``baton sandbox``.

Everything these commands reach outside the process goes through :class:`JobsDeps` — the
store, the platforms, the connectors and the wait for Ctrl-C — so tests register the commands
on their own app with fakes: ``register(app, JobsDeps(connector=...))``.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Protocol

import typer

from baton.core.errors import (
    AccessDenied,
    BatonError,
    ConfigError,
    NotConfigured,
    RetryableError,
    StoreUnavailable,
)
from baton.core.times import parse_time
from baton.webhooks.cli_core import (
    DEFAULT_BASE_PORT,
    MappingsDir,
    OptionalPlatform,
    SandboxPortsOption,
    bad_input_exits_2,
    err,
    mappings_folder,
    out,
)

# The store, the SDKs and the models are imported by the commands that use them, so that
# `baton --help` and the other commands start fast (benchmarks/cli_startup.py).
if TYPE_CHECKING:
    from rich.table import Table
    from sqlalchemy.exc import SQLAlchemyError

    from baton.core.handoff import Platform
    from baton.core.ports import ChangeFeed, TicketCreator
    from baton.core.store import DeliveryView, Store

    class JobConnector(TicketCreator, ChangeFeed, Protocol):
        """What the jobs use of a connector (every ``connectors.base.Connector`` is one)."""

        def close(self) -> None:
            """Release connections."""
            ...


log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_LOCKED = 3
EXIT_TEMPFAIL = 75  # EX_TEMPFAIL from sysexits.h: run again later
# With several platforms, the exit code is the most serious of theirs.
_SEVERITY = (EXIT_FAILED, EXIT_CONFIG, EXIT_TEMPFAIL, EXIT_LOCKED, EXIT_OK)


def registered_platforms() -> list[Platform]:
    """Registered platforms that have a connector, in the registry's order."""
    from baton.connectors.base import delivering_platforms

    return delivering_platforms()


def connector_from_env(platform: Platform, mappings: Path) -> JobConnector:
    """The platform's connector (:func:`baton.connectors.base.configured_connector`):
    NotConfigured skips the platform; ConfigError stops the command."""
    from baton.connectors.base import configured_connector

    return configured_connector(platform, mappings)


def wait_for_signal() -> None:
    """Block until SIGINT or SIGTERM."""
    stop = threading.Event()

    def handler(_signum: int, _frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(1.0):
            pass
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def open_store() -> Store:
    """The store at ``BATON_DATABASE_URL``, migrated (:func:`baton.core.database.open_store`)."""
    from baton.core.database import open_store as open_migrated

    return open_migrated()


@dataclass
class JobsDeps:
    """The outside world of the job commands; tests replace any part."""

    open_store: Callable[[], Store] = open_store
    platforms: Callable[[], Sequence[Platform]] = registered_platforms
    connector: Callable[[Platform, Path], JobConnector] = connector_from_env
    wait: Callable[[], None] = wait_for_signal


def _configure_logging() -> None:
    """Warnings from everything, and what the worker and the sync runner do, on stderr."""
    if logging.getLogger().handlers:
        return  # the embedding application configured logging
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for name in ("baton.core.delivery", "baton.core.sync"):
        logging.getLogger(name).setLevel(logging.INFO)


def _store_error(exc: SQLAlchemyError) -> StoreUnavailable:
    # The driver's first line names the problem; later lines may quote row values.
    orig = getattr(exc, "orig", None)
    reason = str(orig).splitlines()[0] if orig is not None and str(orig) else type(exc).__name__
    return StoreUnavailable(f"store: {reason}")


@contextmanager
def _store(deps: JobsDeps) -> Iterator[Store]:
    from sqlalchemy.exc import SQLAlchemyError

    store = deps.open_store()
    try:
        yield store
    except SQLAlchemyError as exc:
        raise _store_error(exc) from None
    finally:
        store.close()


def _configured(
    deps: JobsDeps, mappings: Path, only: Platform | None = None
) -> dict[Platform, JobConnector]:
    """Connectors of the configured platforms; one line for each skipped one.

    With ``only``, that platform must be configured (ConfigError otherwise).
    """
    if only is not None:
        return {only: deps.connector(only, mappings)}
    found: dict[Platform, JobConnector] = {}
    for platform in deps.platforms():
        try:
            found[platform] = deps.connector(platform, mappings)
        except NotConfigured as exc:
            err.print(f"{platform}: skipped, not configured ({exc})", highlight=False)
    if not found:
        raise ConfigError(
            "no platform is configured: set the BATON_<PLATFORM>_* settings of at least one of "
            + ", ".join(deps.platforms())
        )
    return found


def _close_all(connectors: dict[Platform, JobConnector]) -> None:
    for connector in connectors.values():
        try:
            connector.close()
        except Exception as exc:
            log.warning("closing a connector failed: %s", type(exc).__name__)


def _when(value: datetime | None) -> str:
    return "—" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _deliveries_table(rows: list[DeliveryView], title: str) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("handoff", overflow="fold")
    table.add_column("platform", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("attempts", justify="right", no_wrap=True)
    table.add_column("next attempt (UTC)", min_width=10)
    table.add_column("last error", overflow="fold", ratio=1)
    styles = {"dead": "red", "delivered": "green", "leased": "yellow"}
    for row in rows:
        waiting = row.state in ("pending", "leased")
        table.add_row(
            str(row.id),
            row.handoff_id,
            row.platform,
            f"[{styles.get(row.state, 'default')}]{row.state}[/]",
            str(row.attempts),
            _when(row.next_attempt_at if waiting else None),
            row.last_error or "",
        )
    return table


def _redact_replies_like_the_service(store: Store, mappings: Path) -> None:
    """Replies a sync run finds are masked by the mapping folder's rules, as the service's."""
    from baton.webhooks.intake import load_redactor

    store.reply_redactor = load_redactor(mappings)


def _sync_one(
    store: Store,
    platform: Platform,
    connector: JobConnector,
    since: datetime | None,
    *,
    replies: bool = False,
) -> int:
    """Run one platform's sync with a progress display; its exit code. ``replies``: the sync
    of its public replies instead (a feed and cursor of their own: ``ReplyFeed``)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn
    from sqlalchemy.exc import OperationalError

    from baton.core.ports import ReplyFeed
    from baton.core.sync import SyncLocked, SyncSummary, run_sync, since_default, sync_replies

    start = since or since_default(store, platform)
    latest: list[SyncSummary] = []
    try:
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), console=err, transient=True
        ) as progress:
            task = progress.add_task(f"{platform}: starting")

            def show(summary: SyncSummary) -> None:
                latest[:] = [summary]
                progress.update(
                    task,
                    description=f"{platform}: {summary.pages} pages, "
                    f"{summary.examined} examined, {summary.applied} applied",
                )

            if replies and isinstance(connector, ReplyFeed):
                summary = sync_replies(store, connector, name=platform, since=start, progress=show)
            else:
                summary = run_sync(store, connector, name=platform, since=start, progress=show)
    except SyncLocked as exc:
        done = f"stopped after {latest[0].pages} pages" if latest else "nothing done"
        err.print(f"{exc}; {done}", highlight=False, markup=False)
        return EXIT_LOCKED
    except (AccessDenied, ConfigError) as exc:
        if isinstance(exc, AccessDenied):
            _pause_deliveries(store, platform, exc)
        err.print(f"{platform}: configuration error: {exc}", highlight=False, markup=False)
        return EXIT_CONFIG
    except (RetryableError, StoreUnavailable, OperationalError) as exc:
        problem = _store_error(exc) if isinstance(exc, OperationalError) else exc
        done = f" ({latest[0].pages} pages committed)" if latest else ""
        err.print(f"{platform}: {problem}; run again later{done}", highlight=False, markup=False)
        return EXIT_TEMPFAIL
    except BatonError as exc:
        err.print(f"{platform}: {exc}", highlight=False, markup=False)
        return EXIT_FAILED
    except Exception as exc:
        log.debug("sync %s failed", platform, exc_info=True)
        err.print(f"{platform}: failed: unexpected {type(exc).__name__}", highlight=False)
        return EXIT_FAILED
    moved = "cursor advanced" if summary.advanced else "cursor unchanged"
    skipped = f", {summary.skipped} skipped" if summary.skipped else ""
    label = f"{platform} replies" if replies else platform
    out.print(
        f"{label}: {summary.pages} pages, {summary.examined} examined, "
        f"{summary.applied} applied, {summary.duplicates} duplicates{skipped}, {moved}",
        highlight=False,
    )
    return EXIT_OK


def _pause_deliveries(store: Store, platform: Platform, exc: AccessDenied) -> None:
    """The platform refused the sync's credentials: deliveries to it pause too, everywhere."""
    from datetime import timedelta

    from baton.core.retry import RetryPolicy

    until = datetime.now(UTC) + timedelta(seconds=RetryPolicy().pause_seconds)
    store.pause_platform(platform, until=until, reason=f"sync: {type(exc).__name__}: {exc}")


SYNC_HELP = """Pull what changed on the platforms since the last run (for cron).

Each page commits with the cursor after it, so a killed run resumes where it stopped.
A first run starts at --since, else at the oldest handoff's arrival, else 7 days ago.
A platform whose public replies come from a feed of their own (Zendesk's ticket events
export) syncs them next, under their own cursor.

Exit codes:
  0   success
  2   configuration error: nothing configured, bad credentials or option
  3   another run of the same sync holds its lock; nothing done
  75  retryable platform or database failure (EX_TEMPFAIL): run again later
  1   anything else
Pages committed before a failure are kept. With several platforms every one
runs and the most serious code wins: 1, then 2, 75, 3.
"""


def register(app: typer.Typer, deps: JobsDeps | None = None) -> None:
    """Add ``worker``, ``deliveries``, ``sync`` and ``sandbox`` to ``app``."""
    deps = deps or JobsDeps()

    @app.command("worker")
    @bad_input_exits_2
    def worker(
        concurrency: Annotated[
            int, typer.Option(min=1, help="Worker threads, each claiming its own deliveries.")
        ] = 1,
        once: Annotated[
            bool, typer.Option("--once", help="Deliver what is due now, then exit.")
        ] = False,
        lease_seconds: Annotated[
            float,
            typer.Option(
                min=1,
                help="How long a claimed delivery stays leased; a crashed worker's claims "
                "are retried once their lease has run out.",
            ),
        ] = 60,
        min_backoff: Annotated[
            float | None,
            typer.Option(
                help="Seconds before a failed delivery's next claim, doubling with each "
                "failed call [default: BATON_WORKER_MIN_BACKOFF, else 30].",
                show_default=False,
            ),
        ] = None,
        mappings: MappingsDir = None,
    ) -> None:
        """Deliver handoffs: create each one's ticket exactly once, until SIGINT/SIGTERM.

        Runs for every platform whose connector is configured (BATON_<PLATFORM>_*).
        """
        from baton.core.delivery import BackgroundJob, delivery_workers
        from baton.webhooks.settings import worker_policy

        _configure_logging()
        policy = worker_policy(min_backoff=min_backoff)
        connectors = _configured(deps, mappings_folder(mappings))
        creators: dict[str, TicketCreator] = dict(connectors.items())
        try:
            with _store(deps) as store:
                workers = delivery_workers(
                    store,
                    creators,
                    concurrency=concurrency,
                    lease_seconds=lease_seconds,
                    policy=policy,
                )
                names = ", ".join(connectors)
                if once:
                    with ThreadPoolExecutor(concurrency) as pool:
                        list(pool.map(lambda w: w.drain(), workers))
                    totals: dict[str, int] = {}
                    for w in workers:
                        for result, n in w.results.items():
                            totals[result] = totals.get(result, 0) + n
                    parts = [
                        f"{totals.get(k, 0)} {k.replace('_', ' ')}"
                        for k in ("delivered", "retried", "dead", "paused", "lease_lost")
                    ]
                    out.print(f"worker ({names}): {', '.join(parts)}", highlight=False)
                    return
                job = BackgroundJob(workers)
                job.start()
                out.print(
                    f"worker: delivering to {names} with {concurrency} thread(s); Ctrl-C to stop",
                    highlight=False,
                )
                try:
                    deps.wait()
                finally:
                    job.stop()
                out.print("worker: stopped", highlight=False)
        finally:
            _close_all(connectors)

    deliveries_app = typer.Typer(
        help="The delivery outbox: list deliveries, retry dead ones.", no_args_is_help=False
    )
    app.add_typer(deliveries_app, name="deliveries")

    @deliveries_app.callback(invoke_without_command=True)
    @bad_input_exits_2
    def deliveries(
        ctx: typer.Context,
        failed: Annotated[
            bool, typer.Option("--failed", help="Only dead-lettered deliveries.")
        ] = False,
    ) -> None:
        """List deliveries (id, handoff, platform, state, attempts, next attempt, last error)."""
        if ctx.invoked_subcommand is not None:
            return
        with _store(deps) as store:
            rows = store.list_deliveries("dead" if failed else None)
            pauses = store.platform_pauses()
        for pause in pauses.values():
            err.print(
                f"{pause.platform}: deliveries paused until {_when(pause.until)} UTC: "
                f"{pause.reason}",
                highlight=False,
                markup=False,
            )
        if not rows:
            out.print("no failed deliveries" if failed else "no deliveries")
            return
        title = "failed deliveries" if failed else "deliveries"
        out.print(_deliveries_table(rows, f"{len(rows)} {title}"))

    @deliveries_app.command("retry")
    @bad_input_exits_2
    def retry(
        delivery_id: Annotated[int, typer.Argument(metavar="ID", help="A dead delivery's id.")],
    ) -> None:
        """Put a dead delivery back in the queue, due now, with its attempts reset."""
        with _store(deps) as store:
            if store.requeue(delivery_id):
                out.print(f"delivery {delivery_id} requeued", highlight=False)
                return
            view = store.get_delivery(delivery_id)
        if view is None:
            err.print(f"error: no delivery {delivery_id}", highlight=False)
        else:
            err.print(
                f"error: delivery {delivery_id} is {view.state}, not dead; "
                "only dead deliveries can be retried",
                highlight=False,
            )
        raise typer.Exit(EXIT_CONFIG)

    @app.command("sync", help=SYNC_HELP)
    @bad_input_exits_2
    def sync(
        platform: OptionalPlatform = None,
        since: Annotated[
            str | None,
            typer.Option(
                help="ISO-8601 start for a first run (no stored cursor); UTC if no offset."
            ),
        ] = None,
        mappings: MappingsDir = None,
    ) -> None:
        from baton.core.ports import ReplyFeed

        _configure_logging()
        start = parse_time(since, "--since")
        connectors = _configured(deps, mappings_folder(mappings), platform)
        codes: list[int] = []
        try:
            with _store(deps) as store:
                _redact_replies_like_the_service(store, mappings_folder(mappings))
                for name, connector in connectors.items():
                    codes.append(_sync_one(store, name, connector, start))
                    if isinstance(connector, ReplyFeed):
                        codes.append(_sync_one(store, name, connector, start, replies=True))
        finally:
            _close_all(connectors)
        code = min(codes, key=_SEVERITY.index, default=EXIT_OK)
        if code:
            raise typer.Exit(code)

    @app.command("sandbox")
    @bad_input_exits_2
    def sandbox(
        sandbox_ports: SandboxPortsOption = str(DEFAULT_BASE_PORT),
        rate_limit: Annotated[
            int, typer.Option(min=1, help="Requests per minute before a sandbox answers 429.")
        ] = 700,
        mappings: MappingsDir = None,
    ) -> None:
        """Run every registered platform's local sandbox on 127.0.0.1 until Ctrl-C.

        Seeded from the mappings' catalogs/; prints the settings that point Baton at them.
        """
        from baton.webhooks.sandboxes import parse_sandbox_ports, start_sandboxes

        folder = mappings_folder(mappings)
        ports = parse_sandbox_ports(sandbox_ports)
        running = start_sandboxes(folder, ports, rate_limit=rate_limit)
        try:
            for name, box in running.running.items():
                out.print(f"[bold]{name}[/] sandbox at {box.base_url}")
                out.print("  point Baton at it with:")
                for key, value in box.env.items():
                    out.print(f"    export {key}={value}", highlight=False, markup=False)
            out.print("Ctrl-C to stop")
            deps.wait()
        finally:
            running.stop()


__all__ = [
    "EXIT_CONFIG",
    "EXIT_FAILED",
    "EXIT_LOCKED",
    "EXIT_OK",
    "EXIT_TEMPFAIL",
    "JobConnector",
    "JobsDeps",
    "connector_from_env",
    "open_store",
    "register",
    "registered_platforms",
    "wait_for_signal",
]
