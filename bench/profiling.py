"""Where the webhook's time goes: py-spy on the server under load, summed up by cost.

py-spy (`.venv/bin/pip install py-spy`; not a dependency of the line) samples the running
server from outside, without changing it. Sampling is "on CPU": idle threads (the thread pool
waiting for work, the event loop waiting on sockets) are left out, so a share is a share of
the CPU the server burns. A cost's *inclusive* share counts every sample with that function
anywhere on the stack; *self* counts the sample's innermost frame only.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def pyspy_path() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def start_recording(
    pid: int, seconds: float, output: Path, rate: int = 100
) -> subprocess.Popen[bytes]:
    """py-spy, recording `pid` for `seconds` into `output` (collapsed stacks)."""
    pyspy = pyspy_path()
    if pyspy is None:
        raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
    return subprocess.Popen(
        [
            pyspy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, round(seconds))),
            "--rate",
            str(rate),
            "--format",
            "raw",
            "--nonblocking",
            "--output",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


Frame = tuple[str, str]  # (function, file)


def parse(text: str) -> list[tuple[list[Frame], int]]:
    """Collapsed stacks ("frame;frame;... count"), outermost frame first."""
    stacks = []
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = []
        for raw in stack.split(";"):
            match = _FRAME.match(raw)
            frames.append((match["func"], match["file"]) if match else (raw, ""))
        stacks.append((frames, int(count)))
    return stacks


Matcher = Callable[[Frame], bool]


def fn(name: str, file_part: str = "") -> Matcher:
    """A frame whose function is `name` (or ends with `.name`) in a file containing `file_part`."""

    def match(frame: Frame) -> bool:
        func, file = frame
        return (func == name or func.endswith("." + name)) and file_part in file

    return match


def in_file(part: str) -> Matcher:
    return lambda frame: part in frame[1]


def any_of(*matchers: Matcher) -> Matcher:
    return lambda frame: any(m(frame) for m in matchers)


# Where a sample's innermost frame is: what the CPU was doing, by library.
SELF_GROUPS: list[tuple[str, Matcher]] = [
    ("app/", in_file("app/")),
    ("ivr/", in_file("ivr/")),
    ("sqlalchemy/orm", in_file("sqlalchemy/orm/")),
    ("sqlalchemy/sql", in_file("sqlalchemy/sql/")),
    ("sqlalchemy/engine+pool", any_of(in_file("sqlalchemy/engine/"), in_file("sqlalchemy/pool/"))),
    ("sqlalchemy (other)", in_file("sqlalchemy/")),
    ("psycopg", in_file("psycopg")),
    ("twilio", in_file("twilio/")),
    ("phonenumbers", in_file("phonenumbers/")),
    ("fastapi", in_file("fastapi/")),
    ("starlette", in_file("starlette/")),
    ("pydantic", in_file("pydantic")),
    ("uvicorn", in_file("uvicorn/")),
    ("anyio", in_file("anyio/")),
    ("multipart", in_file("multipart")),
    ("asyncio", in_file("asyncio/")),
    ("xml (ElementTree)", in_file("xml/")),
    ("threading", any_of(in_file("threading.py"), in_file("queue.py"))),
]


@dataclass
class Profile:
    samples: int
    costs: list[tuple[str, float]]
    self_groups: list[tuple[str, float]]
    top_self: list[tuple[str, float]]
    top_ours: list[tuple[str, float]]
    notes: list[str] = field(default_factory=list)


def _label(frame: Frame) -> str:
    func, file = frame
    return f"{func} ({file})" if file else func


def summarize(text: str, costs: list[tuple[str, Matcher]], top: int = 15) -> Profile:
    """py-spy's collapsed stacks summed up: each of the named `costs` (label, matcher) as the
    inclusive share of samples with a frame it matches, self time by library, hottest frames."""
    stacks = parse(text)
    total = sum(count for _, count in stacks)
    if not total:
        return Profile(0, [], [], [], [], ["py-spy recorded no samples"])

    def share(n: int) -> float:
        return 100.0 * n / total

    named = [
        (label, share(sum(c for frames, c in stacks if any(map(matcher, frames)))))
        for label, matcher in costs
    ]
    groups: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    for frames, count in stacks:
        leaf = frames[-1]
        leaves[_label(leaf)] += count
        group = next((name for name, m in SELF_GROUPS if m(leaf)), "other (C, stdlib)")
        groups[group] += count
        for label in {_label(f) for f in frames if f[1].startswith(("app/", "ivr/"))}:
            ours[label] += count
    return Profile(
        samples=total,
        costs=named,
        self_groups=[(g, share(n)) for g, n in groups.most_common()],
        top_self=[(f, share(n)) for f, n in leaves.most_common(top)],
        top_ours=[(f, share(n)) for f, n in ours.most_common(top)],
    )


def render(profile: Profile, cpu_ms_per_request: float | None = None, top: int = 15) -> str:
    """The profile as text; with the server's CPU per request, each named cost also in ms."""
    lines = [f"samples: {profile.samples:,} (on-CPU, all threads)", *profile.notes]
    if cpu_ms_per_request is not None:
        lines.append(
            f"server CPU per request, measured without the profiler: {cpu_ms_per_request:.2f} ms "
            "(the ms beside each cost is its share of that)"
        )
        lines.append("\nnamed costs (inclusive % of samples, and ms of CPU per request):")
        lines += [
            f"  {share:5.1f}%  {share * cpu_ms_per_request / 100:5.2f} ms  {label}"
            for label, share in profile.costs
        ]
    else:
        lines.append("\nnamed costs (inclusive % of samples):")
        lines += [f"  {share:5.1f}%  {label}" for label, share in profile.costs]
    lines.append("\nself time by library (innermost frame):")
    lines += [f"  {share:5.1f}%  {group}" for group, share in profile.self_groups if share >= 0.5]
    lines.append("\napp/ and ivr/ functions (inclusive):")
    lines += [f"  {share:5.1f}%  {label}" for label, share in profile.top_ours[:top]]
    lines.append("\nhottest innermost frames (self):")
    lines += [f"  {share:5.1f}%  {label}" for label, share in profile.top_self[:top]]
    return "\n".join(lines)
