"""The README's table of demos quotes what the estimate quotes for each demo."""

import re
from pathlib import Path

from executions.pricing import estimate
from graph.demo import DEMO_WORKFLOWS

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_quotes() -> dict[str, int]:
    rows = {}
    for line in README.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.match(r"\d+", cells[2]):
            rows[cells[0]] = int(re.match(r"\d+", cells[2]).group())
    return rows


def test_the_readme_quotes_each_demo_as_the_estimate_does():
    quotes = readme_quotes()
    for spec in DEMO_WORKFLOWS:
        assert spec["name"] in quotes, f"the README's demo table lacks {spec['name']!r}"
        quoted = estimate(spec["nodes"], edges=spec["edges"])["estimatedCredits"]
        assert quotes[spec["name"]] == quoted, spec["name"]
