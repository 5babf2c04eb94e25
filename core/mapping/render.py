"""Render a handoff through a compiled mapping into a platform-neutral ticket draft."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from baton.core.handoff import Customer, Handoff
from baton.core.mapping.compiler import CompiledField, CompiledMapping
from baton.core.mapping.context import template_context
from baton.core.mapping.limits import BOOLEAN_TYPES, NUMBER_TYPES, OPTION_TYPES
from baton.core.mapping.note import fit_note, identity_warning, note_marker
from baton.core.mapping.spec import FallbackRequester, UnverifiedRequester, When
from baton.core.mapping.targets import Target
from baton.core.redact import Redactor
from baton.core.templating import render

FieldValue = str | int | float | bool
IDENTITY_UNVERIFIED_TAG = "identity_unverified"


@dataclass(frozen=True)
class Requester:
    """Who a ticket is for, as far as Baton may say: each builder sends what its platform takes."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class Identity:
    """The mapping's unverified-identity policy applied to one customer (RELIABILITY C7)."""

    requester: Requester | None  # None: the fallback requester
    unverified: bool  # the policy applied: tag the ticket and warn at the top of the note


def resolve_identity(customer: Customer, policy: UnverifiedRequester) -> Identity:
    """The requester ``customer`` may become under ``policy``.

    The policy applies only to a customer who is not authenticated and claims an identity (an
    email or a phone); a name alone identifies nobody, so it stays as given.
    """
    name = (customer.name or "").strip() or None
    claimed: Requester | None = Requester(name, customer.email or None, customer.phone or None)
    if claimed == Requester():
        claimed = None
    claims_identity = bool(customer.email or customer.phone)
    if customer.authenticated or not claims_identity or policy == "claimed":
        return Identity(claimed, unverified=False)
    if policy == "tag":
        return Identity(claimed, unverified=True)
    return Identity(None, unverified=True)


def _fallback(spec: FallbackRequester | None) -> Requester | None:
    return None if spec is None else Requester(name=spec.name, email=spec.email)


@dataclass(frozen=True)
class TicketDraft:
    """Everything a platform request needs, with names already turned into ids."""

    handoff_id: str
    created_at: str
    subject: str
    description: str | None
    priority: str
    ticket_type: str | None
    fields: dict[str | int, FieldValue]
    tags: list[str]
    route: str
    target: Target
    note: str
    requester: Requester | None  # None: the fallback requester (or the platform's default)
    fallback_requester: Requester | None  # the mapping's; None: the platform's default
    warnings: list[str]


def _as_list(value: Sequence[str] | str | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def matches(when: When, handoff: Handoff) -> bool:
    """Whether every condition of ``when`` holds for ``handoff``."""
    checks: list[bool] = []
    if when.intent is not None:
        checks.append(any(fnmatchcase(handoff.intent, p) for p in _as_list(when.intent)))
    if when.trigger is not None:
        checks.append(bool(set(_as_list(when.trigger)) & set(handoff.trigger_kinds)))
    if when.tier is not None:
        tier = (handoff.customer.tier or "").casefold()
        checks.append(tier in {t.casefold() for t in _as_list(when.tier)})
    if when.language is not None:
        language = (handoff.language or handoff.routing.language or "").split("-")[0].casefold()
        checks.append(language in {lang.casefold() for lang in _as_list(when.language)})
    if when.channel is not None:
        checks.append(handoff.channel in _as_list(when.channel))
    if when.priority is not None:
        checks.append(handoff.priority in _as_list(when.priority))
    return all(checks)


def choose_route(mapping: CompiledMapping, handoff: Handoff) -> tuple[str, Target]:
    """The first matching rule's name and target, else the default."""
    for route in mapping.routes:
        if matches(route.when, handoff):
            return route.name, route.target
    return "default", mapping.default


def normalize_tag(tag: str) -> str:
    """Tags as Zendesk stores them: lower case, no spaces (a space would split the tag)."""
    return re.sub(r"[^a-z0-9_\-:./]+", "_", tag.strip().casefold()).strip("_")


def derived_tags(kinds: list[str], handoff: Handoff) -> list[str]:
    """Tags derived from the handoff, by the kinds the mapping asks for."""
    tags: list[str] = []
    for kind in kinds:
        if kind == "trigger_kinds":
            tags += [f"trigger_{k}" for k in handoff.trigger_kinds]
        elif kind == "intent":
            tags.append(f"intent_{handoff.intent.replace('.', '_')}")
        elif kind == "tier" and handoff.customer.tier:
            tags.append(f"tier_{handoff.customer.tier}")
        elif kind == "channel":
            tags.append(f"channel_{handoff.channel}")
        elif kind == "language" and (handoff.language or handoff.routing.language):
            tags.append(f"lang_{handoff.language or handoff.routing.language}")
        elif kind == "handoff_tags":
            tags += handoff.tags
    return tags


def _coerce(field: CompiledField, raw: str) -> FieldValue | None:
    """The rendered text as the field's type wants it; None when it is not a valid value."""
    kind = field.field.type
    if kind in OPTION_TYPES:
        option = field.field.option(raw)
        return option.value if option else None
    if kind in NUMBER_TYPES:
        try:
            number = float(raw)
        except ValueError:
            return None
        return int(number) if kind in ("integer", "int") else number
    if kind in BOOLEAN_TYPES:
        folded = raw.casefold()
        if folded in ("true", "yes", "1"):
            return True
        return False if folded in ("false", "no", "0") else None
    return raw


def _field_values(
    mapping: CompiledMapping, context: dict[str, Any], warnings: list[str]
) -> dict[str | int, FieldValue]:
    values: dict[str | int, FieldValue] = {}
    for field in mapping.fields:
        raw = render(field.template, context).strip()
        if field.value_map is not None:
            raw = field.value_map.get(raw, field.value_map.get(raw.casefold(), raw))
        if not raw or raw == "None":
            continue
        value = _coerce(field, raw)
        if value is None:
            kind = field.field.type
            warnings.append(f"field '{field.field.name}': not a valid {kind} value; left out")
            continue
        values[field.key] = value
    return values


def _ticket_type(mapping: CompiledMapping, handoff: Handoff) -> str | None:
    spec = getattr(mapping.spec, "ticket_type", None)
    if spec is None:
        return None
    for pattern, value in spec.by_intent.items():
        if fnmatchcase(handoff.intent, pattern):
            return str(value)
    return str(spec.default)


def draft_ticket(
    mapping: CompiledMapping,
    handoff: Handoff,
    *,
    redactor: Redactor | None = None,
    use_backup: bool = False,
) -> TicketDraft:
    """Render ``handoff`` into a draft. Redaction runs first, so no rendered text skips it."""
    handoff = (redactor or mapping.redactor).redact_handoff(handoff)
    route, target = choose_route(mapping, handoff)
    if use_backup and mapping.backup is not None:
        route, target = f"{route} (backup)", mapping.backup
    context = template_context(handoff, platform=mapping.platform, route=route)
    warnings: list[str] = []
    fields = _field_values(mapping, context, warnings)
    tags = [*mapping.spec.tags.static, *(render(t, context) for t in mapping.tag_templates)]
    tags += derived_tags(list(mapping.spec.tags.derived), handoff)
    identity = resolve_identity(handoff.customer, mapping.spec.unverified_requester)
    html = mapping.plugin.note_is_html
    preface = note_marker(handoff.id, html=html) if mapping.plugin.separate_note else ""
    if identity.unverified:
        tags.append(IDENTITY_UNVERIFIED_TAG)
        preface += identity_warning(html=html, claimed_is_requester=identity.requester is not None)
    tags = list(dict.fromkeys(t for t in map(normalize_tag, tags) if t))
    if mapping.tags_field is not None and tags:
        fields[mapping.tags_field] = ";".join(tags)
    note = fit_note(
        mapping.note,
        context,
        context["handoff"]["transcript"],
        mapping.note_limit,
        mapping.spec.note.max_transcript_turns,
        preface=preface,
    )
    description = render(mapping.description, context).strip() if mapping.description else None
    return TicketDraft(
        handoff_id=handoff.id,
        created_at=context["handoff"]["created_at"],
        subject=" ".join(render(mapping.subject, context).split()),
        description=description,
        priority=mapping.priority[handoff.priority],
        ticket_type=_ticket_type(mapping, handoff),
        fields=fields,
        tags=tags,
        route=route,
        target=target,
        note=note,
        requester=identity.requester,
        fallback_requester=_fallback(mapping.spec.fallback_requester),
        warnings=warnings,
    )
