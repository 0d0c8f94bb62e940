"""Where a worker's CPU went, from py-spy's collapsed stacks (`py-spy record --format raw`):
milliseconds of CPU per generation by function, inclusive (the function and what it called)
and self (the function itself), our code apart from the libraries.

Run: python bench/profile_stacks.py <stacks.txt> <samples per second> <generations> [top]
(bench_scale.py prints the same summary itself with SCALE_PROFILE set).
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

OURS = ("executions/", "wireflow_site/", "accounts/", "graph/")
_LINE = re.compile(r":\d+\)$")


def _frame(text: str) -> str:
    """'function (path/file.py:123)' without its line number: one entry per function."""
    return _LINE.sub(")", text.strip())


def read_stacks(path: Path) -> Counter:
    """Samples by stack (a tuple of frames, outermost first)."""
    stacks: Counter = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks[tuple(_frame(part) for part in stack.split(";"))] += int(count)
    return stacks


def summary(path: Path, *, rate: float, generations: float, top: int = 25) -> str:
    stacks = read_stacks(path)
    total = sum(stacks.values())
    if not total or not generations:
        return f"{path}: no samples"
    inclusive: Counter = Counter()
    leaf: Counter = Counter()
    for stack, count in stacks.items():
        for frame in set(stack):
            inclusive[frame] += count
        leaf[stack[-1]] += count

    def ms(samples: int) -> str:
        return f"{samples / rate / generations * 1000:7.2f} ms"

    lines = [f"{path.name}: {total} samples at {rate:g}/s = {ms(total).strip()} of busy threads "
             f"per generation ({generations:g} generations)",
             "  inclusive, our code:"]
    ours = [(frame, n) for frame, n in inclusive.most_common() if any(o in frame for o in OURS)]
    lines += [f"    {ms(n)}  {frame}" for frame, n in ours[:top]]
    lines.append("  inclusive, everything:")
    lines += [f"    {ms(n)}  {frame}" for frame, n in inclusive.most_common(top)]
    lines.append("  self:")
    lines += [f"    {ms(n)}  {frame}" for frame, n in leaf.most_common(top)]
    return "\n".join(lines)


if __name__ == "__main__":
    print(summary(Path(sys.argv[1]), rate=float(sys.argv[2]), generations=float(sys.argv[3]),
                  top=int(sys.argv[4]) if len(sys.argv) > 4 else 25))
