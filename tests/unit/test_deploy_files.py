"""The deployment files (Dockerfile, deploy/) are checked here, since no container engine or
cluster runs on CI: each against its published schema or linter, and every `baton` command
line in them against the CLI itself, so a renamed option breaks the build, not a deploy."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from typer.testing import CliRunner

from baton.webhooks.cli import app
from tests.support.paths import ROOT

DEPLOY = ROOT / "deploy"
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
KUBERNETES = sorted((DEPLOY / "kubernetes").glob("*.yaml"))
SYSTEMD = DEPLOY / "systemd"
BIN = Path(sys.executable).parent
KUBERNETES_VERSION = "1.31"
SERVICE_PORT = "8600"


def _tool(name: str) -> str:
    """A checker installed with the dev extra, next to this Python."""
    found = shutil.which(name, path=str(BIN))
    assert found is not None, f"{name} is missing: install the dev extra (pip install -e '.[dev]')"
    return found


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _manifests() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in KUBERNETES:
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                yield path, document


def _containers(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    spec = manifest["spec"]
    if manifest["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    if "template" not in spec:
        return []
    containers: list[dict[str, Any]] = spec["template"]["spec"]["containers"]
    return containers


def _unit_commands() -> list[list[str]]:
    commands = []
    for unit in sorted(SYSTEMD.glob("*.service")):
        for line in unit.read_text().splitlines():
            key, _, value = line.partition("=")
            if key in ("ExecStart", "ExecStartPre"):
                words = shlex.split(value)
                assert words[0].endswith("/baton"), f"{unit.name}: {line}"
                commands.append(words[1:])
    return commands


def _baton_commands() -> list[list[str]]:
    """Every baton argument list the deployment files run."""
    commands: list[list[str]] = []
    dockerfile = DOCKERFILE.read_text()
    entry = re.search(r"^ENTRYPOINT (\[.*\])$", dockerfile, re.MULTILINE)
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)
    assert entry
    assert cmd
    assert yaml.safe_load(entry.group(1)) == ["baton"]
    commands.append(yaml.safe_load(cmd.group(1)))
    for name, service in _compose()["services"].items():
        if service.get("entrypoint") == ["sh", "-c"]:
            script = service["command"][0]
            commands += [shlex.split(part)[1:] for part in re.findall(r"baton [^;]+", script)]
        elif name != "postgres":
            commands.append(service["command"])
    for _, manifest in _manifests():
        commands += [c["args"] for c in _containers(manifest)]
    return commands + _unit_commands()


@pytest.mark.parametrize("args", _baton_commands(), ids=" ".join)
def test_every_command_line_is_one_the_cli_accepts(args: list[str]) -> None:
    # --help is eager: the options before it are still parsed, so an unknown one fails here.
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output


def test_the_dockerfile_passes_hadolint() -> None:
    found = subprocess.run(
        [_tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert found.returncode == 0, found.stdout + found.stderr


def test_the_image_runs_as_a_user_and_checks_healthz() -> None:
    text = DOCKERFILE.read_text()
    users = re.findall(r"^USER (\S+)$", text, re.MULTILINE)
    assert users
    assert users[-1] not in ("root", "0")
    health = re.search(r"^HEALTHCHECK .*$(?:\n\s+.*)*", text, re.MULTILINE)
    assert health
    assert f":{SERVICE_PORT}/healthz" in health.group(0)
    assert f"EXPOSE {SERVICE_PORT}" in text


def test_the_image_copies_every_folder_the_wheel_is_built_from() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    package_dirs = pyproject["tool"]["setuptools"]["package-dir"].values()
    roots = {Path(folder).parts[0] for folder in package_dirs}
    copied = set(re.findall(r"^COPY (\S+) \1$", DOCKERFILE.read_text(), re.MULTILINE))
    assert roots <= copied, f"not copied into the build stage: {sorted(roots - copied)}"
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert not roots & ignored


def test_compose_follows_the_compose_specification() -> None:
    found = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode == 0, found.stdout + found.stderr


def test_compose_upgrades_the_schema_before_anything_uses_it() -> None:
    services = _compose()["services"]
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    users = [name for name in services if name not in ("postgres", "migrate")]
    assert sum(1 for name in users if services[name]["command"][0] == "serve") == 2
    for name in users:
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name
        assert "postgres" in services[name]["environment"]["BATON_DATABASE_URL"], name


@pytest.mark.parametrize(
    ("path", "manifest"),
    list(_manifests()),
    ids=[f"{p.name}:{m['kind']}" for p, m in _manifests()],
)
def test_kubernetes_manifests_follow_the_api_schema(path: Path, manifest: dict[str, Any]) -> None:
    kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
    for container in _containers(manifest):
        assert container["envFrom"] == [{"secretRef": {"name": "baton"}}], path.name


def test_kubernetes_has_the_four_pieces() -> None:
    kinds = {(m["kind"], m["metadata"]["name"]) for _, m in _manifests()}
    assert {
        ("Job", "baton-migrate"),
        ("Deployment", "baton-serve"),
        ("Deployment", "baton-worker"),
        ("CronJob", "baton-sync"),
    } <= kinds


def test_systemd_units_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed: the systemd units are not verified")
    baton = shutil.which("baton", path=str(BIN))
    assert baton is not None
    for unit in SYSTEMD.iterdir():
        # The units name /opt/baton; systemd checks that the program exists, so point them at
        # this installation's.
        text = unit.read_text().replace("/opt/baton/bin/baton", baton)
        (tmp_path / unit.name).write_text(text)
    units = [p.name.replace("@.", "@1.") for p in sorted(tmp_path.iterdir())]
    if "baton-worker@1.service" in units:
        (tmp_path / "baton-worker@1.service").symlink_to(tmp_path / "baton-worker@.service")
    found = subprocess.run(
        [analyze, "verify", "--man=no", *(str(tmp_path / u) for u in units)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert found.returncode == 0, found.stdout + found.stderr
    assert found.stderr.strip() == "", found.stderr
