"""``baton schema NAME`` prints each published JSON Schema, importing only what it needs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from baton.webhooks.cli import app
from baton.webhooks.cli_core import SchemaName


@pytest.mark.parametrize("name", [member.value for member in SchemaName])
def test_every_schema_prints_as_a_json_schema_document(name: str) -> None:
    result = CliRunner().invoke(app, ["schema", name])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["$id"].endswith(f"/{name}.json")


def test_the_handoff_schema_does_not_load_the_store() -> None:
    probe = (
        "import sys; from baton.webhooks.cli import app\n"
        "try:\n    app(['schema', 'handoff'])\nexcept SystemExit:\n    pass\n"
        "print('sqlalchemy' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stderr.strip().splitlines()[-1] == "False"
