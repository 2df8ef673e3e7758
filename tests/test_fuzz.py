"""Deliberate header corruption of real binaries, and hostile logs: bounded time, bounded memory, no traceback.

tests/test_artifact.py flips random bytes. Here each test corrupts one named field the parsers
trust — ELF e_phoff/e_shoff/e_shnum, a section's sh_offset/sh_size, the dynamic segment's entry
count, .gnu.version_r vn_cnt/vn_next/vna_next (self-referencing cycles), PE NumberOfSections and
data-directory RVAs, Go build-info varint lengths and pointers — with values hypothesis draws
around the interesting edges (0, 1, the file size, 2**32-1, 2**64-1). Every call runs under a
SIGALRM deadline and tracemalloc: it must return facts (never raise, never hang) and stay within a
memory budget proportional to the input. A corruption that makes the headers unusable must be
reported as a "corrupt:" or "truncated:" problem with its reason.

The log half feeds ``iter_log_lines`` / ``explain_lines`` a 100 MB generated CI log, binary
garbage, a single 50 MB line and odd encodings, and bounds the peak memory of the whole pass.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import struct
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from goci_doctor.artifact import inspect_bytes, inspect_path, read_go_buildinfo
from goci_doctor.diagnosis.explain import explain_lines
from goci_doctor.diagnosis.explain.logread import MAX_LOG_LINE, explain_file, iter_log_lines
from goci_doctor.model import ArtifactFacts

CALL_DEADLINE_S = 10
"""Per inspection. The fixtures are a few MB and inspect in milliseconds; 10 s only catches hangs."""

_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)


class Hang(Exception):
    """Raised by the SIGALRM handler: the call under test did not return in time."""


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail a call that runs longer than ``seconds`` (main thread only, as pytest runs tests)."""

    def on_alarm(_signum: int, _frame: object) -> None:
        raise Hang(f"did not return within {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def bounded(call: Callable[[], object], memory_limit: int, seconds: int = CALL_DEADLINE_S) -> object:
    """Run ``call`` under the deadline and tracemalloc; fail if its peak allocation passes the limit."""
    tracemalloc.start()
    try:
        with deadline(seconds):
            result = call()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= memory_limit, f"peak allocation {peak / 1e6:.1f} MB > {memory_limit / 1e6:.1f} MB"
    return result


def inspect_bounded(data: bytes) -> ArtifactFacts:
    """inspect_bytes + read_go_buildinfo on ``data``; facts must be consistent with the input."""
    # Budget: a few copies of the input (whole dynamic tables are read) plus fixed overhead.
    limit = 4 * len(data) + 32 * 1024 * 1024
    facts = bounded(lambda: inspect_bytes(data, "mutant"), limit)
    assert isinstance(facts, ArtifactFacts)
    assert facts.size == len(data)
    bounded(lambda: read_go_buildinfo(data), limit)
    return facts


def reported(facts: ArtifactFacts) -> bool:
    """The facts say the file is damaged, and why."""
    return any(p.startswith(("corrupt:", "truncated:")) and len(p) > len("corrupt: ") + 10 for p in facts.problems)


EDGE64 = st.sampled_from([0, 1, 2, 0x40, 0x7FFF, 0xFFFF, 0x10000, 0xFFFFFFFF, 0x100000000, 2**63 - 1, 2**64 - 1])


def edge(size: int, bits: int = 64) -> st.SearchStrategy[int]:
    """Values around the file size and the type's limits, plus any value of the field's width."""
    top = 2**bits - 1
    near = st.sampled_from([max(0, size - 1), size, size + 1, size * 2]).map(lambda v: v & top)
    return st.one_of(EDGE64.map(lambda v: v & top), near, st.integers(0, top))


# --------------------------------------------------------------------------------------------
# ELF


@dataclass(frozen=True)
class Section:
    index: int
    header_at: int
    """File offset of this section's header (Elf64_Shdr)."""
    sh_type: int
    offset: int
    size: int
    link: int
    info: int


def elf64_sections(data: bytes) -> dict[str, Section]:
    """name -> Section for a little-endian ELF64 file (the fixtures are x86-64)."""
    (shoff,) = struct.unpack_from("<Q", data, 40)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 58)
    raw = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    str_off, str_size = raw[shstrndx][4], raw[shstrndx][5]
    strtab = data[str_off : str_off + str_size]
    out = {}
    for i, (name, sh_type, _f, _a, off, size, link, info, _al, _es) in enumerate(raw):
        label = strtab[name : strtab.index(b"\0", name)].decode()
        out[label] = Section(i, shoff + i * shentsize, sh_type, off, size, link, info)
    return out


def elf64_phdrs(data: bytes) -> list[tuple[int, int]]:
    """(p_type, file offset of the program header) for each program header."""
    (phoff,) = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    return [(struct.unpack_from("<I", data, phoff + i * phentsize)[0], phoff + i * phentsize) for i in range(phnum)]


def patch(data: bytes, at: int, fmt: str, value: int) -> bytes:
    buf = bytearray(data)
    struct.pack_into(fmt, buf, at, value & (2 ** (8 * struct.calcsize(fmt)) - 1))
    return bytes(buf)


@pytest.fixture(scope="module")
def dyn_elf(bin_path) -> bytes:
    """cgo-host: dynamically linked, with .dynamic, .gnu.version_r and Go build info."""
    return bin_path("cgo-host").read_bytes()


@pytest.fixture(scope="module")
def static_elf(bin_path) -> bytes:
    return bin_path("static").read_bytes()


def test_the_unmodified_fixtures_are_clean(dyn_elf, static_elf):
    # The baseline every corruption below is measured against: no problems, build info present.
    for data in (dyn_elf, static_elf):
        facts = inspect_bounded(data)
        assert facts.problems == ()
        assert facts.go is not None
    assert re.fullmatch(r"2\.\d+", inspect_bounded(dyn_elf).glibc_required)


@_SETTINGS
@given(value=st.data())
def test_e_phoff_past_the_file_is_truncation(dyn_elf, value):
    v = value.draw(edge(len(dyn_elf)).filter(lambda x: x + 56 > len(dyn_elf)))
    facts = inspect_bounded(patch(dyn_elf, 32, "<Q", v))
    assert reported(facts), facts.problems
    assert any("program headers" in p for p in facts.problems)


@_SETTINGS
@given(value=st.data())
def test_e_shoff_anywhere(dyn_elf, value):
    v = value.draw(edge(len(dyn_elf)))
    facts = inspect_bounded(patch(dyn_elf, 40, "<Q", v))
    if v + 64 * 40 > len(dyn_elf):
        assert any("section headers end at offset" in p for p in facts.problems), facts.problems


@_SETTINGS
@given(value=st.data())
def test_e_shnum_and_e_phnum(dyn_elf, static_elf, value):
    data = value.draw(st.sampled_from([dyn_elf, static_elf]))
    field_at = value.draw(st.sampled_from([56, 60]))  # e_phnum, e_shnum
    v = value.draw(edge(len(data), bits=16))
    facts = inspect_bounded(patch(data, field_at, "<H", v))
    phoff, shoff = struct.unpack_from("<QQ", data, 32)
    table_at, entsize = (phoff, 56) if field_at == 56 else (shoff, 64)
    if table_at + v * entsize > len(data):
        assert reported(facts), facts.problems


def test_e_shnum_zero_takes_the_count_from_section_zero(dyn_elf):
    # Extended numbering: e_shnum 0 means "read sh_size of section 0". A huge count there must be
    # caught as truncation, not used to read 2**64 headers.
    data = patch(dyn_elf, 60, "<H", 0)
    (shoff,) = struct.unpack_from("<Q", data, 40)
    facts = inspect_bounded(patch(data, shoff + 32, "<Q", 2**64 - 1))
    assert any("section headers end at offset" in p for p in facts.problems), facts.problems


def test_e_phentsize_and_e_shentsize_too_small(dyn_elf):
    for at, what in ((54, "program header entries"), (58, "section header entries")):
        facts = inspect_bounded(patch(dyn_elf, at, "<H", 8))
        assert any(what in p and p.startswith("corrupt:") for p in facts.problems), facts.problems


@_SETTINGS
@given(value=st.data())
def test_section_offset_and_size(dyn_elf, value):
    sections = elf64_sections(dyn_elf)
    name = value.draw(
        st.sampled_from(
            [
                ".dynamic",
                ".dynsym",
                ".dynstr",
                ".gnu.version",
                ".gnu.version_r",
                ".go.buildinfo",
                ".shstrtab",
                ".interp",
                ".gnu.hash",
            ]
        )
    )
    field_at = value.draw(st.sampled_from([24, 32]))  # sh_offset, sh_size
    v = value.draw(edge(len(dyn_elf)))
    facts = inspect_bounded(patch(dyn_elf, sections[name].header_at + field_at, "<Q", v))
    # The program headers are intact, so the essentials still come from them.
    assert facts.kind == "elf"
    assert facts.arch == "amd64"
    assert facts.interpreter.startswith("/lib64/ld-linux")


@_SETTINGS
@given(value=st.data())
def test_dynamic_segment_entry_count(dyn_elf, value):
    # PT_DYNAMIC's p_filesz is the dynamic entry count x 16; the section's sh_size likewise.
    (dyn_at,) = [at for p_type, at in elf64_phdrs(dyn_elf) if p_type == 2]
    v = value.draw(edge(len(dyn_elf)))
    data = patch(dyn_elf, dyn_at + 32, "<Q", v)
    data = patch(data, elf64_sections(dyn_elf)[".dynamic"].header_at + 32, "<Q", v)
    facts = inspect_bounded(data)
    assert facts.kind == "elf"


def test_dynamic_entries_without_dt_null_stop_at_the_end(dyn_elf):
    # Every tag rewritten to DT_DEBUG (21): no DT_NULL terminator, so a reader must stop at the
    # section's end (or the file's), not walk on.
    sec = elf64_sections(dyn_elf)[".dynamic"]
    buf = bytearray(dyn_elf)
    for at in range(sec.offset, sec.offset + sec.size, 16):
        struct.pack_into("<Q", buf, at, 21)
    facts = inspect_bounded(bytes(buf))
    assert facts.kind == "elf"
    assert facts.needed == ()


def _verneed(data: bytes) -> tuple[Section, int, int]:
    """(.gnu.version_r section, offset of its first Elf64_Verneed, offset of that entry's first Vernaux)."""
    sec = elf64_sections(data)[".gnu.version_r"]
    (vn_aux,) = struct.unpack_from("<I", data, sec.offset + 8)
    return sec, sec.offset, sec.offset + vn_aux


def test_verneed_self_cycle_with_a_huge_count_is_bounded(dyn_elf):
    # sh_info (number of Verneed entries) = 2**32-1 and vn_next = 0: the same entry forever.
    sec, need_at, _aux_at = _verneed(dyn_elf)
    data = patch(dyn_elf, sec.header_at + 44, "<I", 0xFFFFFFFF)
    data = patch(data, need_at + 12, "<I", 0)
    facts = inspect_bounded(data)
    assert any(p.startswith("corrupt:") and "version" in p for p in facts.problems), facts.problems


def test_vernaux_self_cycle_with_a_huge_count_is_bounded(dyn_elf):
    # vn_cnt = 65535 and vna_next = 0: 65535 copies of one auxiliary entry per need.
    _sec, need_at, aux_at = _verneed(dyn_elf)
    data = patch(dyn_elf, need_at + 2, "<H", 0xFFFF)
    data = patch(data, aux_at + 12, "<I", 0)
    facts = inspect_bounded(data)
    assert any(p.startswith("corrupt:") and "version" in p for p in facts.problems), facts.problems


@_SETTINGS
@given(value=st.data())
def test_verneed_fields(dyn_elf, value):
    _sec, need_at, aux_at = _verneed(dyn_elf)
    at, fmt = value.draw(
        st.sampled_from(
            [
                (need_at + 2, "<H"),  # vn_cnt
                (need_at + 4, "<I"),  # vn_file (string offset)
                (need_at + 8, "<I"),  # vn_aux
                (need_at + 12, "<I"),  # vn_next
                (aux_at + 8, "<I"),  # vna_name
                (aux_at + 12, "<I"),  # vna_next
                (aux_at + 6, "<H"),  # vna_other (version index)
            ]
        )
    )
    v = value.draw(edge(len(dyn_elf), bits=8 * struct.calcsize(fmt)))
    facts = inspect_bounded(patch(dyn_elf, at, fmt, v))
    assert facts.kind == "elf"
    assert facts.libc == "glibc"  # from the interpreter, whatever the version table says


# --------------------------------------------------------------------------------------------
# PE


@pytest.fixture(scope="module")
def pe_file(bin_path) -> bytes:
    """windows-cgo: PE32+ with an import directory (mingw) and Go build info."""
    return bin_path("windows-cgo").read_bytes()


def _pe_offsets(data: bytes) -> tuple[int, int, int]:
    """(e_lfanew, optional header offset, data directory offset) for PE32+."""
    (lfanew,) = struct.unpack_from("<I", data, 0x3C)
    opt = lfanew + 24
    return lfanew, opt, opt + 112


def test_pe_fixture_is_clean(pe_file):
    facts = inspect_bounded(pe_file)
    assert facts.problems == ()
    assert facts.pe_imports
    assert facts.go is not None


@settings(_SETTINGS, max_examples=12)
@given(value=st.data())
def test_pe_number_of_sections(pe_file, value):
    lfanew, _opt, _dd = _pe_offsets(pe_file)
    v = value.draw(edge(len(pe_file), bits=16))
    facts = inspect_bounded(patch(pe_file, lfanew + 6, "<H", v))
    assert facts.kind == "pe"
    (opt_size,) = struct.unpack_from("<H", pe_file, lfanew + 20)
    if lfanew + 24 + opt_size + v * 40 > len(pe_file):
        assert any("section table ends" in p for p in facts.problems), facts.problems


@_SETTINGS
@given(value=st.data())
def test_pe_size_of_optional_header_and_lfanew(pe_file, value):
    lfanew, _opt, _dd = _pe_offsets(pe_file)
    at, fmt = value.draw(st.sampled_from([(lfanew + 20, "<H"), (0x3C, "<I")]))
    v = value.draw(edge(len(pe_file), bits=8 * struct.calcsize(fmt)))
    facts = inspect_bounded(patch(pe_file, at, fmt, v))
    assert facts.kind == "pe"


@_SETTINGS
@given(value=st.data())
def test_pe_data_directory_rvas_and_sizes(pe_file, value):
    _lfanew, _opt, dd = _pe_offsets(pe_file)
    directory = value.draw(st.integers(0, 15))  # export, import, resource, ..., IAT, delay import
    which = value.draw(st.sampled_from([0, 4]))  # VirtualAddress, Size
    v = value.draw(edge(len(pe_file), bits=32))
    facts = inspect_bounded(patch(pe_file, dd + 8 * directory + which, "<I", v))
    assert facts.kind == "pe"
    assert facts.arch == "amd64"


def test_pe_import_directory_pointing_at_itself(pe_file):
    # An import descriptor whose name and thunk RVAs point back into the descriptor table.
    import pefile

    pe = pefile.PE(data=pe_file, fast_load=True)
    rva = pe.OPTIONAL_HEADER.DATA_DIRECTORY[1].VirtualAddress
    at = pe.get_offset_from_rva(rva)
    data = pe_file
    for field_at in (0, 12, 16):  # OriginalFirstThunk, Name, FirstThunk
        data = patch(data, at + field_at, "<I", rva)
    facts = inspect_bounded(data)
    assert facts.kind == "pe"


# --------------------------------------------------------------------------------------------
# Go build info

_MAGIC = b"\xff Go buildinf:"


def _buildinfo_at(data: bytes) -> int:
    at = data.find(_MAGIC)
    while at % 16:
        at = data.find(_MAGIC, at + 1)
    assert at > 0
    return at


@pytest.mark.parametrize("fixture", ["static", "cgo-host", "windows", "darwin"])
def test_buildinfo_fixtures_use_inline_strings(bin_path, fixture):
    # Go >= 1.18 writes flag 0x2: version and module info as varint-prefixed strings at +32.
    data = bin_path(fixture).read_bytes()
    assert data[_buildinfo_at(data) + 15] & 0x2


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


@_SETTINGS
@given(value=st.data())
def test_buildinfo_varint_lengths(bin_path, value):
    name = value.draw(st.sampled_from(["static", "cgo-host", "windows", "darwin"]))
    data = bin_path(name).read_bytes()
    at = _buildinfo_at(data) + 32
    which = value.draw(st.sampled_from(["version", "modinfo"]))
    if which == "modinfo":
        n, used = 0, 0
        for used, byte in enumerate(data[at : at + 10], 1):
            n |= (byte & 0x7F) << (7 * (used - 1))
            if byte < 0x80:
                break
        at += used + n
    length = value.draw(
        st.one_of(st.sampled_from([0, 1, 127, 128, 2**31, 2**63, 2**64 - 1, 2**70]), st.integers(0, 2**80))
    )
    encoded = value.draw(st.sampled_from([_varint(length), b"\xff" * 10, b"\x80" * 9 + b"\x01"]))
    mutated = data[:at] + encoded + data[at + len(encoded) :]
    mutated = mutated[: len(data)]
    facts = inspect_bounded(mutated)
    assert facts.kind in ("elf", "pe", "macho")
    if facts.go is not None:
        # Like Go's debug/buildinfo, any non-empty version string is accepted; it must come from
        # inside the file, never from a length read past it.
        assert facts.go.go_version.encode() in mutated or "\ufffd" in facts.go.go_version


@_SETTINGS
@given(value=st.data())
def test_buildinfo_pointer_layout_with_wild_pointers(bin_path, value):
    # The pre-1.18 layout (flag 0x2 clear): two pointers at +16 to (ptr, len) string headers.
    data = bin_path("static").read_bytes()
    at = _buildinfo_at(data)
    ptr_size = value.draw(st.sampled_from([4, 8, 0, 255]))
    buf = bytearray(data)
    buf[at + 14] = ptr_size
    buf[at + 15] = value.draw(st.sampled_from([0, 1]))  # little / big endian
    for slot in range(2):
        struct.pack_into("<Q", buf, at + 16 + 8 * slot, value.draw(edge(len(data))))
    facts = inspect_bounded(bytes(buf))
    assert facts.kind == "elf"
    assert facts.arch == "amd64"


def test_buildinfo_magic_at_the_very_end(bin_path):
    data = bin_path("static").read_bytes()
    at = _buildinfo_at(data)
    cut = data[: at + 20]  # magic present, blob cut short
    facts = inspect_bounded(cut)
    assert facts.go is None
    assert reported(facts), facts.problems


# --------------------------------------------------------------------------------------------
# Logs: huge, garbage, odd encodings


def _generated_ci_log(target: Path, megabytes: int) -> int:
    """A CI log of ``megabytes`` MB: build noise with a real crash line near the end."""
    noise = b"".join(
        f"2024-05-01T10:{i % 60:02d}:00Z go: downloading example.com/mod{i} v1.{i}.0 "
        f"\x1b[32mok\x1b[0m  example.com/pkg{i}\t0.{i % 10}12s\n".encode()
        for i in range(200)
    )
    crash = b"./app: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found (required by ./app)\n"
    with target.open("wb") as fh:
        written = 0
        while written < megabytes * 1024 * 1024:
            fh.write(noise)
            written += len(noise)
        fh.write(crash)
        fh.write(noise[:4096])
    return target.stat().st_size


_MEASURE = """
import json, sys, time
from goci_doctor.diagnosis.explain.logread import explain_file
start = time.monotonic()
diagnosis = explain_file(sys.argv[1])
# VmHWM is this process's own peak RSS. ru_maxrss is not: Linux carries the parent's high-water mark
# over fork/vfork + exec, so under a large pytest process it reports pytest's size.
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"ids": [c.id for c in diagnosis.chains], "seconds": time.monotonic() - start,
                  "maxrss_kb": hwm}))
"""


def test_100_mb_ci_log_in_bounded_memory(tmp_path):
    # Measured in a child process (peak RSS): tracemalloc would slow a 100 MB pass several-fold.
    log = tmp_path / "ci.log"
    size = _generated_ci_log(log, 100)
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(log)], capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert size > 100 * 1024 * 1024
    assert result["maxrss_kb"] < 150 * 1024, f"peak RSS {result['maxrss_kb'] / 1024:.0f} MB for a 100 MB log"
    assert any(i.startswith("glibc") for i in result["ids"]), result["ids"]


def test_one_50_mb_line_is_kept_as_head_and_tail_not_held(tmp_path):
    log = tmp_path / "one-line.log"
    with log.open("wb") as fh:
        for _ in range(50):
            fh.write(b"x" * (1024 * 1024))
        fh.write(b"\nexec /app: exec format error\n")

    def scan() -> tuple[int, int]:
        longest = count = 0
        with log.open("rb") as fh:
            for line in iter_log_lines(fh):
                longest = max(longest, len(line))
                count += 1
        return longest, count

    longest, count = bounded(scan, 16 * 1024 * 1024, seconds=120)
    assert longest <= MAX_LOG_LINE
    assert count == 2  # the huge line stays one line (line numbers stay true), then the error
    diagnosis = explain_file(str(log))
    assert diagnosis.chains, "the exec format error after the huge line is still found"


def _garbage(n: int) -> bytes:
    return os.urandom(n)


@pytest.mark.parametrize(
    "kind",
    ["random", "nul", "utf16le", "utf16be", "latin1", "cr-only", "bom-utf8", "invalid-utf8", "ansi-storm", "half-bom"],
)
def test_odd_encodings_and_garbage(kind, tmp_path):
    line = "exec /usr/local/bin/app: exec format error"
    data = {
        "random": _garbage(4 * 1024 * 1024) + b"\n" + line.encode() + b"\n",
        "nul": b"\0" * (2 * 1024 * 1024) + b"\n" + line.encode() + b"\n",
        "utf16le": ("log start\r\n" + line + "\r\n").encode("utf-16"),
        "utf16be": b"\xfe\xff" + ("log start\n" + line + "\n").encode("utf-16-be"),
        "latin1": ("caf\xe9 d\xe9j\xe0 vu\n" + line + "\n").encode("latin-1"),
        "cr-only": ("step 1\rstep 2\r" + line + "\r").encode(),
        "bom-utf8": b"\xef\xbb\xbf" + line.encode() + b"\n",
        "invalid-utf8": b"\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc\n" * 1000 + line.encode() + b"\n",
        "ansi-storm": b"\x1b[31m\x1b[1m\x1b[0m" * 100_000 + b"\n\x1b[31m" + line.encode() + b"\x1b[0m\n",
        "half-bom": b"\xff",
    }[kind]
    path = tmp_path / f"{kind}.log"
    path.write_bytes(data)
    diagnosis = bounded(lambda: explain_file(str(path)), 48 * 1024 * 1024, seconds=60)
    if kind not in ("half-bom", "cr-only"):
        assert diagnosis.chains, f"{kind}: the exec format error was not found"


@_SETTINGS
@given(st.binary(max_size=4096), st.sampled_from([1, 2, 3, 7, 4096]))
def test_iter_log_lines_never_raises_on_any_bytes(raw, chunk):
    # Whatever the bytes, lines come back as str and together keep every non-ANSI character count
    # bounded by the input (no amplification).
    class Dribble(io.BytesIO):
        def readline(self, size: int | None = -1) -> bytes:
            return super().readline(min(chunk, size if size and size > 0 else chunk))

        def read(self, size: int | None = -1) -> bytes:
            return super().read(min(chunk, size if size and size > 0 else chunk))

    lines = bounded(lambda: list(iter_log_lines(Dribble(raw))), 8 * 1024 * 1024, seconds=5)
    assert all(isinstance(x, str) for x in lines)  # type: ignore[union-attr]
    assert sum(len(x) for x in lines) <= len(raw) + 1  # type: ignore[union-attr]
    explain_lines(iter(lines))  # type: ignore[arg-type]


def test_inspect_path_on_a_fifo_and_dev_zero_does_not_hang(tmp_path):
    # Special files named as artifacts: a FIFO nobody writes to would block a plain open/read.
    fifo = tmp_path / "dist-fifo"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        try:
            facts = bounded(lambda p=path: inspect_path(p), 16 * 1024 * 1024, seconds=5)
        except Exception as exc:  # BadInputError is the acceptable answer for a non-file
            assert type(exc).__name__ == "BadInputError", exc
            assert re.search(r"not a regular file|special|fifo|device", str(exc), re.I), exc
        else:
            assert facts.problems  # type: ignore[union-attr]


def test_pe_without_sections_is_reported_corrupt(bin_path):
    """A PE whose NumberOfSections is 0 holds no code: a build that wrote it did not finish."""
    import struct

    from goci_doctor import artifact

    data = bytearray(bin_path("windows").read_bytes())
    (lfanew,) = struct.unpack_from("<I", data, 0x3C)
    struct.pack_into("<H", data, lfanew + 6, 0)
    facts = artifact.inspect_bytes(bytes(data), "nosections.exe")
    assert facts.kind == "pe"
    assert any("no sections" in p for p in facts.problems)


def test_corrupt_section_names_are_escaped_in_problems(bin_path):
    import struct

    from goci_doctor import artifact

    data = bytearray(bin_path("windows").read_bytes())
    (lfanew,) = struct.unpack_from("<I", data, 0x3C)
    (opt_size,) = struct.unpack_from("<H", data, lfanew + 20)
    first = lfanew + 24 + opt_size
    data[first : first + 8] = b"H\x83\xec(H\x8b\x05u"
    struct.pack_into("<I", data, first + 20, len(data))  # raw pointer past the end: truncated
    facts = artifact.inspect_bytes(bytes(data), "badname.exe")
    text = " ".join(facts.problems)
    assert "truncated" in text
    assert "\x83" not in text and "\\x83" in text


# --------------------------------------------------------------------------------------------
# lint inputs, configs, reports and history entries: generated text, the same bounds

_YAML_ATOMS = st.sampled_from(
    [
        "on: push\n",
        "jobs:\n",
        "  build:\n",
        "    runs-on: ubuntu-latest\n",
        "    steps:\n",
        "      - run: CGO_ENABLED=1 GOARCH=arm64 go build ./...\n",
        "builds:\n",
        "  - goos: [linux]\n",
        "env:\n",
        "  - CC=zig cc\n",
        "a: &a [*a]\n",
        "b: &b [*a, *a, *a]\n",
        "<<: *a\n",
        "*a",
        "&a ",
        "!!binary x",
        "[",
        "]",
        "{",
        "}",
        ": ",
        "- ",
        "\n",
        "  ",
        "\t",
        "'",
        '"',
        "|\n",
        ">\n",
        "# c\n",
        "${{ matrix.x }}",
        "\x00",
        "\ufeff",
    ]
)
_DOCKER_ATOMS = st.sampled_from(
    [
        "FROM golang:1.22 AS build\n",
        "FROM alpine:3.20\n",
        "FROM scratch\n",
        "ARG X=1\n",
        "ENV A=${A}${A}\n",
        "ENV B $B$B\n",
        "RUN CGO_ENABLED=1 go build -o /app .\n",
        "COPY --from=build /app /app\n",
        "\\\n",
        "${",
        "$",
        "FROM --platform=$BUILDPLATFORM ${X}\n",
        "RUN apk add gcc\n",
        "ONBUILD RUN x\n",
        "\n",
        "# syntax=x\n",
        "\x00",
    ]
)
_MAKE_ATOMS = st.sampled_from(
    [
        "A = $(A)$(A)\n",
        "B := $(B)$(B)\n",
        "C ?= ${C}\n",
        "export\n",
        "export A\n",
        "all:\n",
        "\tgo build ./...\n",
        "\tCGO_ENABLED=1 GOOS=linux go build\n",
        "$(shell uname)",
        "$(",
        "${",
        "$$",
        "\\\n",
        ":",
        "=",
        "\n",
        "\t",
    ]
)
_TOML_ATOMS = st.sampled_from(
    [
        'default_targets = ["centos:7"]\n',
        "[run]\n",
        "timeout = 5\n",
        'memory = "1g"\n',
        "[images]\n",
        '"debian:11" = "x"\n',
        "[env.prod]\n",
        "cgo_enabled = false\n",
        'allowed_images = ["alpine:*"]\n',
        "[",
        "]",
        "{",
        "}",
        "a = ",
        '"',
        "'''",
        "=",
        "\n",
        "[[x]]\n",
        "x.y.z = 1\n",
        "\x00",
    ]
)


def _text(atoms: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(st.one_of(atoms, st.text(max_size=12)), max_size=120).map("".join)


@_SETTINGS
@given(
    workflow=_text(_YAML_ATOMS),
    goreleaser=_text(_YAML_ATOMS),
    dockerfile=_text(_DOCKER_ATOMS),
    makefile=_text(_MAKE_ATOMS),
    gomod=st.text(max_size=200),
)
def test_lint_never_raises_on_generated_configs(workflow, goreleaser, dockerfile, makefile, gomod, tmp_path_factory):
    from goci_doctor.gate.lint import lint_repo
    from goci_doctor.gate.rules import LintReport

    repo = tmp_path_factory.mktemp("repo")
    (repo / ".github" / "workflows").mkdir(parents=True)
    files = {
        ".github/workflows/ci.yml": workflow,
        ".goreleaser.yaml": goreleaser,
        "Dockerfile": dockerfile,
        "Makefile": makefile,
        "go.mod": gomod,
    }
    for rel, text in files.items():
        (repo / rel).write_text(text, encoding="utf-8", errors="surrogatepass")
    report = bounded(lambda: lint_repo(repo), 64 * 1024 * 1024)
    assert isinstance(report, LintReport)
    assert set(files) <= set(report.files)


@_SETTINGS
@given(text=_text(_TOML_ATOMS))
def test_config_and_policy_loaders_fail_with_one_line_only(text, tmp_path_factory):
    from goci_doctor.config import Config, load_config
    from goci_doctor.gate.policyfile import load_policy
    from goci_doctor.model import BadInputError

    path = tmp_path_factory.mktemp("cfg") / "file.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    for load in (lambda: load_config(path, environ={}), lambda: load_policy(path)):
        try:
            result = bounded(load, 16 * 1024 * 1024)
        except BadInputError as exc:
            assert "\n" not in exc.message
        else:
            assert result is not None
            if isinstance(result, Config):
                assert result.path == str(path)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "schema_version",
                    "kind",
                    "diagnosis",
                    "chains",
                    "title",
                    "created",
                    "subject",
                    "verdicts",
                    "artifacts",
                    "children",
                    "evidence",
                    "x",
                ]
            ),
            inner,
            max_size=6,
        )
    ),
    max_leaves=30,
)


@_SETTINGS
@given(doc=_JSON, depth=st.sampled_from([0, 1, 150, 5000]))
def test_report_and_history_readers_never_raise_unexpectedly(doc, depth, tmp_path_factory):
    from goci_doctor.model import BadInputError
    from goci_doctor.render import load_report
    from goci_doctor.render.history import list_sessions, load_session

    folder = tmp_path_factory.mktemp("sessions")
    body = json.dumps(doc)
    if depth:
        body = '{"schema_version": 1, "kind": "report", "x": ' + "[" * depth + "]" * depth + ', "d": ' + body + "}"
    path = folder / "20250101-000000-x.json"
    path.write_text(body)
    try:
        bounded(lambda: load_report(path), 32 * 1024 * 1024)
    except BadInputError as exc:
        assert "\n" not in exc.message
    entries = bounded(lambda: list_sessions(folder), 32 * 1024 * 1024)
    assert isinstance(entries, list)
    try:
        load_session("20250101-000000-x", folder)
    except BadInputError as exc:
        assert "\n" not in exc.message
