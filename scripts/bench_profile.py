"""Where a server's CPU goes: its processes' CPU time from /proc, and a sampling profile
(py-spy) summed up as its top functions. Used by scripts/bench.py (``--profile`` and the
CPU figures of every load)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

#: the entries of each top list written to docs/benchmarks.md
TOP = 20
#: frames on at least this share of the samples wrap every request (the server's thread,
#: the router, the tweens): left out of the total-time list, where they would fill it
WRAPPING_PCT = 75.0
#: where the app's own functions are (their list by total time)
APP_PREFIX = "salesapp/"


# -- CPU time ------------------------------------------------------------------------
def cpu_seconds(pid: int, reaped: bool = False) -> float:
    """A process's CPU time (all its threads, user and system); with ``reaped``, that of
    the children it has waited for too. 0 for a process that is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    used = int(fields[11]) + int(fields[12])  # utime, stime
    if reaped:
        used += int(fields[13]) + int(fields[14])  # cutime, cstime
    return used / os.sysconf("SC_CLK_TCK")


def children(parent: int) -> list[int]:
    """The live processes whose parent is ``parent``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(stat.parent.name))
    return found


def tree_cpu_seconds(pid: int | None) -> float | None:
    """CPU seconds of a process, its live children and the children it reaped (a server
    and its workers; a postmaster and its backends). None without a pid."""
    if pid is None:
        return None
    return cpu_seconds(pid, reaped=True) + sum(cpu_seconds(child) for child in children(pid))


def named_children(parent: int, name: str) -> list[int]:
    """Live children of ``parent`` whose command is ``name`` (e.g. pgbouncer)."""
    found = []
    for pid in children(parent):
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/comm").read_text().strip() == name:
                found.append(pid)
    return found


def parent_of(pid: int) -> int | None:
    """The parent of a local process (None if there is no such process here)."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError):
        return None


def per_request_ms(seconds: float | None, requests: int) -> float | None:
    if seconds is None or not requests:
        return None
    return round(seconds / requests * 1000, 3)


# -- the profile ---------------------------------------------------------------------
def py_spy() -> str:
    """The py-spy next to this Python (the testing extra installs it), else on PATH."""
    here = Path(sys.executable).parent / "py-spy"
    found = str(here) if here.exists() else shutil.which("py-spy")
    if found is None:
        raise SystemExit("py-spy is not installed: .venv/bin/pip install -e '.[testing]'")
    return found


def record(pid: int, seconds: float, out: Path) -> subprocess.Popen:
    """Start sampling the server ``pid`` and its worker processes for ``seconds``: only
    threads holding the interpreter lock (what costs CPU, not threads waiting on the
    database), 200 samples a second, as collapsed stacks (one line a stack)."""
    command = [
        py_spy(), "record", "--pid", str(pid), "--subprocesses", "--gil", "--nolineno",
        "--rate", "200", "--nonblocking", "--duration", str(max(1, round(seconds))),
        "--format", "raw", "--output", str(out),
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def parse_collapsed(text: str) -> list[tuple[list[str], int]]:
    """py-spy's raw output: (frames from the outermost, samples) per stack. The process
    line --subprocesses puts first is dropped: workers of one server are summed."""
    stacks = []
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        if frames:
            stacks.append((frames, int(count)))
    return stacks


def package_of(frame: str) -> str:
    """The top-level package or module a frame is in: ``execute (sqlalchemy/engine/base.py)``
    is sqlalchemy, ``<listcomp> (json/encoder.py)`` json."""
    where = frame.rpartition("(")[2].rstrip(")")
    head = where.split("/", 1)[0] if "/" in where else where.rsplit(".", 1)[0]
    return head or where


def summarize(stacks: list[tuple[list[str], int]], top: int = TOP) -> dict:
    """The top functions by own time (the frame sampled) and by total time (on the stack,
    once per sample), and each package's own share; in per cent of all samples."""
    samples = sum(count for _, count in stacks)
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    for frames, count in stacks:
        own[frames[-1]] += count
        packages[package_of(frames[-1])] += count
        for frame in set(frames):
            total[frame] += count

    def share(counter: Counter, keep=lambda name, n: True) -> list[list]:
        ranked = [(name, n) for name, n in counter.most_common() if keep(name, n)][:top]
        return [[name, round(n / samples * 100, 1)] for name, n in ranked]

    def inner(name: str, n: int) -> bool:
        return n / samples * 100 < WRAPPING_PCT

    return {
        "samples": samples,
        "own": share(own),
        "total": share(total, inner),
        "app": share(total, lambda name, n: inner(name, n) and APP_PREFIX in name),
        "packages": share(packages),
    }


def profile_markdown(profile: dict) -> str:
    """One profile for docs/benchmarks.md, under the date and load it was taken in."""
    lines = [
        f"## Profile: {profile['when']}",
        "",
        f"`{profile['command']}`: py-spy sampled the server ({profile['server']}) at 200 Hz "
        f"during {profile['workload']} at {profile['tenants']} pooled tenants for "
        f"{profile['seconds']} s, only threads holding the interpreter lock (the CPU the "
        f"app spends, not its waits on PostgreSQL): {profile['samples']} samples; "
        f"{profile['rps']:.0f} req/s, {profile['app_cpu_ms']} ms of the server's CPU per "
        "request while sampled (py-spy reads the process without stopping it). "
        "*Own*: the function was the one running; *total*: it was on the stack (frames on "
        f"{WRAPPING_PCT:.0f}% of the samples or more, the server, router and tweens around "
        "every request, left out).",
        "",
        "| own % | function (own time) | total % | function (total time) |",
        "|---|---|---|---|",
    ]
    own, total = profile["own"], profile["total"]
    for i in range(max(len(own), len(total))):
        a = own[i] if i < len(own) else ["", ""]
        b = total[i] if i < len(total) else ["", ""]
        lines.append(f"| {a[1]} | `{a[0]}` | {b[1]} | `{b[0]}` |")
    lines += [
        "",
        "The app's own functions by total time: "
        + ", ".join(f"`{name}` {pct}%" for name, pct in profile.get("app", [])[:12])
        + ".",
        "",
        "Own time by package: "
        + ", ".join(f"{name} {pct}%" for name, pct in profile["packages"][:12])
        + ".",
    ]
    return "\n".join(lines) + "\n"
