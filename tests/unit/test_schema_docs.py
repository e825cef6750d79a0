"""docs/datasets.md documents every schema of the registry (so the page cannot fall behind it)."""

import re
from pathlib import Path

import pytest

from spikerate.io.schema import SCHEMAS

PAGE = Path(__file__).resolve().parents[2] / "docs" / "datasets.md"


def sections() -> dict[str, str]:
    """``## heading`` -> the text under it, up to the next ``##`` heading."""
    parts = re.split(r"^## +(.*)$", PAGE.read_text(), flags=re.M)
    return {heading.strip(): body for heading, body in zip(parts[1::2], parts[2::2])}


def section_of(schema: str) -> str:
    found = [body for heading, body in sections().items() if f"`{schema}`" in heading]
    assert len(found) == 1, (f"docs/datasets.md needs exactly one `## ...` heading containing `{schema}` "
                             f"(found {len(found)})")
    return found[0]


@pytest.mark.parametrize("schema", sorted(SCHEMAS))
def test_every_schema_has_a_section(schema):
    section_of(schema)


@pytest.mark.parametrize("schema", sorted(SCHEMAS))
def test_section_names_every_required_variable_and_coordinate(schema):
    body = section_of(schema)
    spec = SCHEMAS[schema]
    missing = [name for name in [*spec.variables, *spec.coords] if f"`{name}`" not in body]
    assert not missing, f"the section of {schema} in docs/datasets.md does not mention {missing}"


@pytest.mark.parametrize("schema", sorted(SCHEMAS))
def test_section_names_every_required_attribute(schema):
    body = section_of(schema)
    common = ("schema", "spikerate_version", "created")  # documented once, at the top of the page
    missing = [a for a in SCHEMAS[schema].attrs if a not in common and f"`{a}`" not in body]
    assert not missing, f"the section of {schema} in docs/datasets.md does not mention the attributes {missing}"


def test_section_says_who_writes_it():
    for schema in SCHEMAS:
        assert "Written by" in section_of(schema), schema
