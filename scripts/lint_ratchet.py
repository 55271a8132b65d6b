"""The lint ratchet: the per-file exemptions in ruff.toml only shrink.

``[lint.per-file-ignores]`` in ruff.toml lists the files that broke a rule when the rule
was switched on (complexity over 15, and the SIM/PT/RUF families). New code meets every
rule: ruff fails on any offence outside that list. This script fails when an entry has
become unnecessary (its file no longer breaks that rule), so a fixed offender is taken
off the list in the same change and the list can never grow back silently.

    python scripts/lint_ratchet.py     # exit 1 and the stale entries, if any
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def stale_entries(config: Path = REPO / "ruff.toml") -> list[str]:
    """The (file, rule) exemptions whose file no longer breaks the rule."""
    ignores = tomllib.loads(config.read_text())["lint"].get("per-file-ignores", {})
    ruff = Path(sys.executable).with_name("ruff")
    stale = []
    for pattern, rules in ignores.items():
        if not (REPO / pattern).exists():
            stale.append(f"{pattern}: no such file")
            continue
        for rule in rules:
            result = subprocess.run(
                [
                    str(ruff),
                    "check",
                    "--quiet",
                    "--config",
                    "lint.per-file-ignores = {}",
                    "--select",
                    rule,
                    pattern,
                ],
                cwd=REPO,
                capture_output=True,
                text=True,
            )
            if result.returncode == 0:
                stale.append(f"{pattern}: {rule} is met now; remove it from ruff.toml")
    return stale


def main() -> int:
    stale = stale_entries()
    for line in stale:
        print(line)
    if stale:
        print(f"{len(stale)} stale lint exemptions: the ratchet only shrinks")
        return 1
    print("lint ratchet: every exemption is still needed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
