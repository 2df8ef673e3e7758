"""`-o` never replaces what is not a regular file: devices, FIFOs, symlinks, modes, `-o -`.

Real files, real devices, real FIFOs and real `goci-doctor` processes; the /dev/null cases need
root (that is when the old code turned /dev/null into a private regular file).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from goci_doctor import render
from goci_doctor.model import BadInputError

ROOT = os.geteuid() == 0


def _cli(*args: str, umask: int | None = None, **kw: object) -> subprocess.CompletedProcess[str]:
    def preexec() -> None:
        if umask is not None:
            os.umask(umask)

    return subprocess.run(
        [sys.executable, "-m", "goci_doctor", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        preexec_fn=preexec,
        **kw,
    )  # type: ignore[call-overload]


@pytest.fixture
def restore_dev():
    """Put /dev/null and /dev/stdout back if the code under test replaced them (it did, before the fix):
    a failing test must not break the machine for everything else running on it."""
    null, stdout_link = os.stat("/dev/null"), os.readlink("/dev/stdout")
    yield
    if not stat.S_ISCHR(os.lstat("/dev/null").st_mode):
        os.unlink("/dev/null")
        os.mknod("/dev/null", 0o666 | stat.S_IFCHR, null.st_rdev)
        os.chmod("/dev/null", 0o666)
    if not os.path.islink("/dev/stdout"):
        os.symlink(stdout_link, "/dev/.stdout.restore")
        os.replace("/dev/.stdout.restore", "/dev/stdout")


@pytest.mark.skipif(not ROOT, reason="replacing /dev/null needs root; that is the case the fix is for")
def test_dev_null_stays_a_character_device(bin_path, restore_dev):
    before = os.stat("/dev/null")
    assert stat.S_ISCHR(before.st_mode)
    proc = _cli("inspect", str(bin_path("static")), "-o", "/dev/null")
    assert proc.returncode == 0, proc.stderr
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode)
    assert (after.st_rdev, after.st_ino, stat.S_IMODE(after.st_mode)) == (
        before.st_rdev,
        before.st_ino,
        stat.S_IMODE(before.st_mode),
    )
    assert not [n for n in os.listdir("/dev") if n.startswith(".null.")]  # no temp file left in /dev


def test_dev_stdout_writes_to_standard_output_and_keeps_the_symlink(bin_path, tmp_path, restore_dev):
    link_before = os.readlink("/dev/stdout")
    out = tmp_path / "captured.txt"
    with out.open("w") as fh:  # stdout redirected to a regular file, as `> file` does
        proc = subprocess.run(
            [sys.executable, "-m", "goci_doctor", "inspect", str(bin_path("static")), "-o", "/dev/stdout"],
            stdout=fh,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr
    assert os.path.islink("/dev/stdout") and os.readlink("/dev/stdout") == link_before
    assert "ELF 64-bit" in out.read_text()
    # and through a pipe
    piped = _cli("inspect", str(bin_path("static")), "-o", "/dev/stdout")
    assert piped.returncode == 0 and "ELF 64-bit" in piped.stdout


def test_dash_means_stdout_and_creates_no_file(bin_path, tmp_path):
    proc = _cli("inspect", str(bin_path("static")), "--json", "-o", "-", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.lstrip().startswith("{")
    assert list(tmp_path.iterdir()) == []


def test_symlink_to_a_regular_file_is_kept_and_its_target_rewritten(tmp_path):
    real = tmp_path / "reports" / "r.txt"
    real.parent.mkdir()
    real.write_text("old\n")
    real.chmod(0o640)
    link = tmp_path / "latest.txt"
    link.symlink_to(real)
    render.write_output("new\n", str(link))
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new\n"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640


def test_existing_file_keeps_its_mode_and_new_files_follow_the_umask(bin_path, tmp_path):
    kept = tmp_path / "kept.txt"
    kept.write_text("old\n")
    kept.chmod(0o664)
    proc = _cli("inspect", str(bin_path("static")), "-o", str(kept), umask=0o077)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(kept.stat().st_mode) == 0o664 and "ELF 64-bit" in kept.read_text()
    for mask, mode in ((0o022, 0o644), (0o002, 0o664), (0o077, 0o600)):
        new = tmp_path / f"new-{mask:o}.txt"
        proc = _cli("inspect", str(bin_path("static")), "-o", str(new), umask=mask)
        assert proc.returncode == 0, proc.stderr
        assert stat.S_IMODE(new.stat().st_mode) == mode


def test_fifo_is_written_through(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()), daemon=True)
    reader.start()
    render.write_output("through the pipe\n", str(fifo))
    reader.join(timeout=30)
    assert got == ["through the pipe\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.parametrize("kind", ["directory", "socket", "dangling", "link-to-dir"])
def test_other_special_files_are_refused_with_one_line(kind, tmp_path, bin_path):
    import socket

    target = tmp_path / "t"
    if kind == "directory":
        target.mkdir()
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(target))
    elif kind == "dangling":
        target.symlink_to(tmp_path / "nowhere")
    else:
        (tmp_path / "d").mkdir()
        target.symlink_to(tmp_path / "d")
    before = os.lstat(target)
    with pytest.raises(BadInputError):
        render.write_output("x\n", str(target))
    proc = _cli("inspect", str(bin_path("static")), "-o", str(target))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "cannot write" in proc.stderr, proc.stderr
    after = os.lstat(target)
    assert (after.st_ino, stat.S_IFMT(after.st_mode)) == (before.st_ino, stat.S_IFMT(before.st_mode))


@pytest.mark.skipif(not ROOT or not Path("/dev/loop0").exists(), reason="needs root and a block device node")
def test_block_device_is_refused(tmp_path):
    with pytest.raises(BadInputError, match="block device"):
        render.write_output("x\n", "/dev/loop0")
    assert stat.S_ISBLK(os.stat("/dev/loop0").st_mode)
