"""Foreign-arch artifacts under qemu emulation: a real binfmt_misc handler, a real engine, real images.

binfmt_misc is global to the host kernel: while a qemu-aarch64 handler is registered, every arm64
binary on the host and in every container runs instead of failing with ``exec format error``.
The rest of the suite asserts that failure, so the handler here lives only inside each test: the
``qemu_aarch64`` fixture registers it (or enables an existing entry) and always puts the previous
state back, and the last test proves the host is neutral again.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from goci_doctor import diagnosis, hostenv, knowledge, platforms
from goci_doctor.artifact import inspect_path
from goci_doctor.config import Config, RunSettings
from goci_doctor.lab import docker as lab
from goci_doctor.lab import engine as lab_engine
from goci_doctor.lab.images import build_images, local_image_map
from goci_doctor.model import EngineUnavailableError
from goci_doctor.render.runs import render_runs_text

pytestmark = pytest.mark.docker

BINFMT = Path(hostenv.BINFMT_DIR)
QEMU = Path("/usr/bin/qemu-aarch64-static")
ENTRY = BINFMT / "qemu-aarch64"
# The ELF header of an aarch64 executable (EI_CLASS 64, little endian, e_machine 0xb7) and its
# mask, as qemu's own qemu-binfmt-conf.sh and Debian's qemu-user-static register them. F (fix
# binary) makes the kernel open the interpreter now, from the host's filesystem: containers do
# not have /usr/bin/qemu-aarch64-static, and without F the exec would fail inside them.
_MAGIC = r"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00"
_MASK = r"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff"
REGISTRATION = f":qemu-aarch64:M::{_MAGIC}:{_MASK}:{QEMU}:F"
HELLO = "goci-fixture hello linux/arm64"


def _entry_state() -> tuple[str, str]:
    """("absent" | "enabled" | "disabled", flags) of the qemu-aarch64 binfmt entry."""
    try:
        lines = ENTRY.read_text().splitlines()
    except FileNotFoundError:
        return "absent", ""
    flags = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("flags:")), "")
    return (lines[0].strip() if lines else "disabled"), flags


def _write(path: Path, text: str) -> None:
    # One write() per call: binfmt_misc parses each write as a whole command.
    with path.open("w") as f:
        f.write(text)


def _host_is_neutral() -> bool:
    return _entry_state()[0] != "enabled" and not hostenv.binfmt_handler("arm64")


@pytest.fixture
def qemu_aarch64() -> Iterator[tuple[str, ...]]:
    """An enabled qemu-aarch64 handler for one test; the host's previous state is always restored.

    Yields the handlers hostenv reads while it is registered.
    """
    if os.geteuid() != 0:
        pytest.skip("registering a binfmt_misc handler needs root")
    if not (BINFMT / "register").exists():
        pytest.skip(
            f"binfmt_misc is not mounted at {BINFMT} "
            "(mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc; scripts/setup.sh --test does)"
        )
    if not QEMU.exists():
        pytest.skip(f"{QEMU} is missing (apt-get install qemu-user-static)")
    if (BINFMT / "status").read_text().strip() != "enabled":
        pytest.skip("binfmt_misc is switched off on this host (status: disabled): no handler would run")
    before, flags = _entry_state()
    if before != "absent" and "F" not in flags:
        pytest.skip(
            f"{ENTRY} is registered without the F flag: its interpreter is not reachable "
            "inside containers, and this test will not replace the host's own entry"
        )
    try:
        if before == "absent":
            _write(BINFMT / "register", REGISTRATION)
        elif before == "disabled":
            _write(ENTRY, "1")
    except PermissionError as exc:
        pytest.skip(f"this kernel or sandbox refuses binfmt_misc registration: {exc}")
    try:
        assert _entry_state()[0] == "enabled"
        yield hostenv.read_binfmt()
    finally:
        # Always, also when the test failed: a handler left behind would turn every later
        # "exec format error" assertion in the suite into a run.
        with contextlib.suppress(FileNotFoundError):
            if before == "absent":
                _write(ENTRY, "-1")  # unregister
            elif before == "disabled":
                _write(ENTRY, "0")
    assert _entry_state()[0] == before


@pytest.fixture(scope="module")
def engine() -> object:
    try:
        return lab_engine.connect()
    except EngineUnavailableError as exc:
        pytest.skip(f"no Docker engine: {exc}")


@pytest.fixture(scope="module")
def runner(engine: object) -> lab.DockerRunner:
    # The two local amd64 images (idempotent: existing ones are reused), no registry.
    build_images(["debian-bookworm", "scratch"], on_progress=lambda _line: None, client=engine)
    config = Config(images=local_image_map(), run=RunSettings(allow_pull=False))
    return lab.DockerRunner(config=config, client=engine)


def test_arm64_binary_runs_emulated_in_amd64_images(qemu_aarch64, runner, bin_path):
    """No --platform: the kernel picks qemu from the artifact's own ELF header, in an amd64 image."""
    if platforms.host_goarch() != "amd64":
        pytest.skip(f"this test emulates arm64 on an amd64 host; the host is {platforms.host_goarch()}")
    results = runner.run_matrix(bin_path("arm64"), ["debian:bookworm", "scratch"])
    for r in results:
        assert (r.target, r.outcome, r.stdout.strip(), r.emulated) == (r.target, "runs", HELLO, True), r
        assert r.exit_code == 0 and r.platform == ""
    assert [r.image for r in results] == ["goci/debian:bookworm", "goci/scratch"]
    assert results[0].libc == "glibc 2.36" and results[1].libc == "none"
    facts = inspect_path(bin_path("arm64"))
    text = render_runs_text(facts, results)
    assert text.count("runs (emulated)") == 2


def test_native_binary_is_not_marked_emulated_while_a_handler_exists(qemu_aarch64, runner, bin_path):
    (r,) = runner.run_matrix(bin_path("static"), ["scratch"])
    assert (r.outcome, r.stdout.strip(), r.emulated) == ("runs", "goci-fixture hello linux/amd64", False)


def test_hostenv_lists_the_handler_and_warns_about_masking(qemu_aarch64):
    handler = f"qemu-aarch64 (enabled, {QEMU}, flags F)"
    if _entry_state()[1] != "F":  # the host's own entry was reused: compare what it really says
        handler = next(h for h in qemu_aarch64 if h.startswith("qemu-aarch64 "))
    assert handler in qemu_aarch64
    facts = hostenv.gather(docker=False)
    assert handler in facts.binfmt
    warnings = [p for p in hostenv.problems(facts) if p.startswith("binfmt_misc runs foreign-arch")]
    assert len(warnings) == 1 and "qemu-aarch64" in warnings[0] and "exec format error" in warnings[0]


def test_prediction_still_crashes_on_a_real_amd64_machine_and_names_the_handler(qemu_aarch64, bin_path):
    """Emulation here does not make the binary fine on an amd64 deploy machine without qemu."""
    bookworm = knowledge.find_target("debian:bookworm")
    assert bookworm is not None
    facts = inspect_path(bin_path("arm64"))
    diag = diagnosis.check_artifact(facts, [bookworm], binfmt=qemu_aarch64, arch="amd64")
    (verdict,) = diag.verdicts
    assert verdict.outcome == "crashes"
    assert "runs here only under qemu emulation" in verdict.reason
    (chain,) = diag.chains
    binfmt_evidence = [e for node in chain.walk() for e in node.evidence if e.fact == "binfmt_misc"]
    assert len(binfmt_evidence) == 1 and "qemu-aarch64 (enabled" in binfmt_evidence[0].value
    assert binfmt_evidence[0].source == hostenv.BINFMT_DIR
    # Without the handler, the same prediction has no emulation evidence.
    plain = diagnosis.check_artifact(facts, [bookworm], arch="amd64")
    assert plain.verdicts[0].outcome == "crashes"
    assert all(e.fact != "binfmt_misc" for node in plain.chains[0].walk() for e in node.evidence)


def test_host_is_neutral_again_after_the_emulation_tests(runner, bin_path):
    """Runs last in this file: no handler is left, so arm64 fails with exec format error again."""
    if not _host_is_neutral():
        pytest.fail(f"{ENTRY} is enabled outside the emulation tests: {ENTRY.read_text()!r}")
    (r,) = runner.run_matrix(bin_path("arm64"), ["scratch"])
    exe = f"/goci/{bin_path('arm64').name}"
    assert (r.outcome, r.message, r.emulated) == ("crashes", f"exec {exe}: exec format error", False)
