"""Hostile XML against the Outbound Message reader (connectors/salesforce/outbound.py).

What it measures: a billion-laughs body (10 levels of 10 references: ~3 GB if expanded), a
quadratic-blowup body (one 50,000-character entity referenced 50,000 times: ~2.5 GB if
expanded) and an external-entity body (``SYSTEM "file:///etc/passwd"``) each go through
``read_outbound_message`` and ``verify_organization``; for each it prints what refused it, the
median time to the refusal and the peak memory allocated meanwhile (tracemalloc), then the
same figures for a legitimate 100-notification message. Nothing is asserted on time
(tests/connectors/test_salesforce_outbound.py proves the refusal and its bounded memory).

    .venv/bin/python benchmarks/xml_attacks.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable

from _common import machine_facts

from baton.connectors.salesforce.outbound import read_outbound_message, verify_organization
from baton.core.errors import PayloadError, VerificationError

ORG = "00D000000000001EAA"
SOAP = (
    b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soapenv:Body>%s</soapenv:Body></soapenv:Envelope>"
)


def billion_laughs() -> bytes:
    """10 levels of 10 references to a 3-character entity: 3 × 10⁹ characters expanded."""
    levels = [b'<!ENTITY lol0 "lol">']
    for i in range(1, 10):
        levels.append(b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10))
    return b'<?xml version="1.0"?><!DOCTYPE e [' + b"".join(levels) + b"]>" + SOAP % b"&lol9;"


def quadratic_blowup() -> bytes:
    """One 50,000-character entity referenced 50,000 times (no nesting): 2.5 × 10⁹ chars."""
    entity = b'<!ENTITY a "' + b"a" * 50_000 + b'">'
    return b'<?xml version="1.0"?><!DOCTYPE e [' + entity + b"]>" + SOAP % (b"&a;" * 50_000)


def external_entity() -> bytes:
    """A reference to a local file through an external entity."""
    doctype = b'<!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    return b'<?xml version="1.0"?>' + doctype + SOAP % b"&xxe;"


def legitimate(count: int = 100) -> bytes:
    """A well-formed message of ``count`` Case notifications, as Salesforce shapes them."""
    items = b"".join(
        b"<Notification><Id>04l%015d</Id>"
        b'<sObject xsi:type="sf:Case" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
        b'<sf:Id>500%015d</sf:Id><sf:Status>Closed</sf:Status><sf:OwnerId xsi:nil="true"/>'
        b"<sf:Subject>Refund for order %d</sf:Subject></sObject></Notification>" % (i, i, i)
        for i in range(count)
    )
    notifications = (
        b'<notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        b"<OrganizationId>" + ORG.encode() + b"</OrganizationId>"
        b'<ActionId>04k000000000001AAA</ActionId><SessionId xsi:nil="true"/>'
        b"<EnterpriseUrl>https://x.my.salesforce.com/services/Soap/c/61.0</EnterpriseUrl>"
        b"<PartnerUrl>https://x.my.salesforce.com/services/Soap/u/61.0</PartnerUrl>"
        + items
        + b"</notifications>"
    )
    envelope = SOAP.replace(
        b"<soapenv:Envelope ",
        b'<soapenv:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ',
    )
    return b'<?xml version="1.0" encoding="UTF-8"?>' + envelope % notifications


def measure(call: Callable[[], object], repeat: int) -> tuple[str, float, int]:
    """What ``call`` ended with, its median seconds and the largest tracemalloc peak."""
    times, peaks, outcome = [], [], ""
    for _ in range(repeat):
        tracemalloc.start()
        started = time.perf_counter()
        try:
            call()
            outcome = "accepted"
        except (PayloadError, VerificationError) as exc:
            cause = exc.__cause__
            outcome = f"{type(exc).__name__}" + (f" ← {type(cause).__name__}" if cause else "")
        times.append(time.perf_counter() - started)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    return outcome, statistics.median(times), max(peaks)


def main() -> int:
    """Print the figures; exit 1 when a hostile body was read instead of refused."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print(machine_facts())
    bodies = {
        "billion laughs": billion_laughs(),
        "quadratic blowup": quadratic_blowup(),
        "external entity": external_entity(),
    }
    failed = False
    print(f"{'body':<22}{'bytes':>9}  {'step':<9}{'median':>11}{'peak':>12}  outcome")
    for name, body in [*bodies.items(), ("100 notifications", legitimate())]:
        steps: dict[str, Callable[[], object]] = {
            "read": lambda b=body: read_outbound_message(b),
            "verify": lambda b=body: verify_organization(b, [ORG]),
        }
        for step, call in steps.items():
            outcome, seconds, peak = measure(call, args.repeat)
            failed |= name in bodies and outcome == "accepted"
            print(
                f"{name:<22}{len(body):>9}  {step:<9}{seconds * 1e3:>9.3f} ms"
                f"{peak / 1024:>8.1f} KiB  {outcome}"
            )
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"process max RSS: {maxrss / 1024:.1f} MiB (the bodies themselves included)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
