"""`explain` reads a paste as an expert does: wrappers peeled, evidence parsed, candidates ranked.

Messages are real: the six the issue found unrecognised (written as real terminals and CI logs
print them), lines from the public-reports corpus, and the localized Windows loader texts.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import re2

from goci_doctor.diagnosis import explain
from goci_doctor.diagnosis.explain import logpeel, pastefacts
from goci_doctor.diagnosis.explain.hypotheses import SYMPTOMS


def _lead(text: str) -> str:
    d = explain.explain_text(text)
    return d.hypotheses[0].family if d.hypotheses else ""


# --------------------------------------------------------------------------------------------
# Peeling wrappers


@pytest.mark.parametrize(
    ("raw", "core"),
    [
        ("#12 0.426 exec /app: exec format error", "exec /app: exec format error"),  # BuildKit
        ("\x1b[31m2024-06-14T17:33:53.774616751Z exec /app: exec format error\x1b[0m", "exec /app: exec format error"),
        ("section_start:1700000000:step_script\r\x1b[0Kexec /app: exec format error", "exec /app: exec format error"),
        ("optisam-import-service_1   | exec /app: exec format error", "exec /app: exec format error"),  # compose
        ("> `exec /app: exec format error`", "exec /app: exec format error"),  # quoted in an issue
        # systemd, Python, tini, s6, chroot, Go: the same kernel error through each launcher
        (
            "May 20 09:50:23 pi systemd[1]: app.service: Failed to execute /usr/local/bin/app: Exec format error",
            "exec /usr/local/bin/app: exec format error",
        ),
        (
            "systemd[1]: app.service: Failed at step EXEC spawning /opt/app: No such file or directory",
            "exec /opt/app: no such file or directory",
        ),
        (
            "OSError: [Errno 8] Exec format error: '/home/natter/dnspad.sh'",
            "exec /home/natter/dnspad.sh: exec format error",
        ),
        (
            "[FATAL tini (6)] exec /usr/local/bin/entrypoint.sh failed: No such file or directory",
            "exec /usr/local/bin/entrypoint.sh: no such file or directory",
        ),
        (
            "s6-supervise 99-run_forever (child): fatal: unable to exec run: Exec format error",
            "exec run: exec format error",
        ),
        ("arm-image: chroot: failed to run command '/bin/sh': Exec format error", "exec /bin/sh: exec format error"),
        ("ERROR: fork/exec ./sds.go: exec format error", "exec ./sds.go: exec format error"),
        ("-bash: ./behindflare: can't execute binary file: Exec format error", "exec ./behindflare: exec format error"),
        (
            "Warning  Failed  12s  kubelet  Error: failed to create containerd task: failed to create shim task: OCI "
            'runtime create failed: runc create failed: unable to start container process: exec: "/app": exec format '
            "error: unknown",
            "exec /app: exec format error",
        ),
        # crun, fish, supervisord, Node (containers/crun#424, fish-shell/fish-shell#4946, Supervisor#1180)
        (
            "exec container process (missing dynamic library?) `/init`: No such file or directory",
            "exec /init: no such file or directory",
        ),
        (
            "The file './build.sh' is marked as an executable but could not be run by the operating system.",
            "exec ./build.sh: exec format error",
        ),
        ("The file './app' does not exist or could not be executed.", "exec ./app: no such file or directory"),
        ("supervisor: couldn't exec /usr/local/bin/app: ENOEXEC", "exec /usr/local/bin/app: exec format error"),
        ("[ERROR] Error occurred while starting instance: Error: spawn ENOEXEC", "exec ?: exec format error"),
    ],
)
def test_wrappers_are_peeled_to_the_core_message(raw: str, core: str) -> None:
    assert logpeel.peel_line(raw).core == core


# ERROR_BAD_EXE_FORMAT (193) as Windows prints it in the user's language.
LOCALIZED = [
    "不是有效的 Win32 应用程序。",  # zh-CN
    "%1 は有効な Win32 アプリケーションではありません。",  # ja
    "%1 ist keine zulässige Win32-Anwendung.",  # de
    "%1 n'est pas une application Win32 valide.",  # fr
    "%1 no es una aplicación Win32 válida.",  # es
    "%1 não é um aplicativo Win32 válido.",  # pt-BR
    "%1 не является приложением Win32.",  # ru
    "此应用无法在你的电脑上运行",  # "This app can't run on your PC", zh-CN
    "Diese App kann auf dem PC nicht ausgeführt werden.",  # de
]


@pytest.mark.parametrize("message", LOCALIZED)
def test_localized_windows_loader_messages_are_recognised(message: str) -> None:
    d = explain.explain_text(f"PS C:\\tools> .\\app.exe\n{message}")
    assert d.hypotheses and d.hypotheses[0].symptom == "windows-exe", d.hypotheses


# --------------------------------------------------------------------------------------------
# The issue's unrecognised messages, and new families


@pytest.mark.parametrize(
    ("text", "family"),
    [
        (
            "Nov 26 10:00:01 host systemd[1]: app.service: Failed to execute /usr/local/bin/app: Exec format error",
            "wrong-arch",
        ),
        ("qemu-x86_64: Could not open '/lib64/ld-linux-x86-64.so.2': No such file or directory", "qemu-foreign-binary"),
        (
            "WARNING: The requested image's platform (linux/amd64) does not match the detected host platform "
            "(linux/arm64/v8) and no specific platform was requested",
            "platform-mismatch",
        ),
        (
            "./app: /lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.30' not found (required by ./app)",
            "glibcxx-too-new",
        ),
        (
            "Error loading shared library libgcc_s.so.1: No such file or directory (needed by ./app)",
            "missing-shared-lib",
        ),
        ("runtime/cgo: pthread_create failed: Operation not permitted\nSIGABRT: abort", "seccomp-clone3"),
        ("/app/entrypoint.sh: line 3: $'\\r': command not found", "script-crlf"),
        ("gokr-rsyncd.exe: unsupported 16 bit application", "non-main-package"),
    ],
)
def test_issue_messages_and_new_families(text: str, family: str) -> None:
    assert _lead(text) == family


@pytest.mark.parametrize(
    ("text", "family"),
    [
        # gcc and clang word the same failures differently (raylib-go#238, go-vgo/robotgo#634, golang/go#80290)
        (
            "env GOOS=windows GOARCH=amd64 CGO_ENABLED=1 go build main.go\n# runtime/cgo\n"
            "gcc: error: unrecognized command-line option ‘-mthreads’; did you mean ‘-pthread’?",
            "cgo-cross-no-cc",
        ),
        (
            "GOOS=windows go build\n# runtime/cgo\ngcc: error: unrecognized command-line option ‘-mthreads’; did you "
            "mean ‘-pthread’?",
            "cgo-cross-no-cc",
        ),
        ("# runtime/cgo\nfatal error: 'windows.h' file not found", "cgo-cross-no-cc"),
        (
            "set CC=clang\ngo build .\n# runtime/cgo\nclang: error: unsupported option '-mthreads' for target "
            "'x86_64-pc-windows-msvc'",
            "cgo-windows-needs-mingw",
        ),
    ],
)
def test_compiler_wordings(text: str, family: str) -> None:
    assert _lead(text) == family


def test_glibcxx_chain_names_the_version_and_library() -> None:
    d = explain.explain_text(
        "./yuzu: /lib/x86_64-linux-gnu/libstdc++.so.6: version `CXXABI_1.3.13' not found (required by ./yuzu)"
    )
    assert d.findings[0].fact("wanted") == "CXXABI_1.3.13"
    assert "CXXABI_1.3.13" in d.chains[0].title


# --------------------------------------------------------------------------------------------
# Facts decide between the families of one symptom

EXEC = "$ ./app\nbash: ./app: cannot execute binary file: Exec format error\n"


@pytest.mark.parametrize(
    ("evidence", "family"),
    [
        (
            "$ file app\napp: ELF 64-bit LSB executable, ARM aarch64, version 1 (SYSV), statically linked\n"
            "$ uname -m\nx86_64",
            "wrong-arch",
        ),
        ("$ file app\napp: PE32+ executable (console) x86-64, for MS Windows", "pe-on-linux"),
        ("$ file app\napp: Mach-O 64-bit executable arm64", "macho-on-linux"),
        ("$ file app\napp: HTML document, ASCII text", "not-a-binary"),
        ("$ file app\napp: current ar archive", "non-main-package"),
    ],
)
def test_file_output_decides_exec_format_error(evidence: str, family: str) -> None:
    d = explain.explain_text(EXEC + evidence)
    assert d.hypotheses[0].family == family, d.hypotheses
    assert d.hypotheses[0].confidence > 0.5


def test_foreign_arch_fact_gives_high_confidence() -> None:
    text = EXEC + "$ file app\napp: ELF 64-bit LSB executable, ARM aarch64\n$ uname -m\nx86_64\n"
    lead = explain.explain_text(text).hypotheses[0]
    assert lead.family == "wrong-arch" and lead.confidence >= 0.7
    assert any("arm64" in r and "amd64" in r for r in lead.reasons)


@pytest.mark.parametrize(
    ("evidence", "family"),
    [
        ("FROM golang:1.22 AS build\nFROM alpine:3.19\nCOPY --from=build /app /app", "glibc-on-musl"),
        ("FROM golang:1.22 AS build\nFROM scratch\nCOPY --from=build /app /app", "dynamic-on-no-libc"),
        ("$ ldd /app\n\t/lib/ld-musl-x86_64.so.1 => /lib64/ld-linux-x86-64.so.2 (0x7f)", "musl-on-glibc"),
    ],
)
def test_image_and_ldd_decide_missing_loader(evidence: str, family: str) -> None:
    d = explain.explain_text("exec /app: no such file or directory\n" + evidence)
    assert d.hypotheses[0].family == family, d.hypotheses


def test_fish_running_a_script_without_shebang() -> None:
    """fish does not fall back to sh for ENOEXEC (fish-shell/fish-shell#1281): a script lacks its #! line."""
    text = (
        "Failed to execute process './install.sh'. Reason:\nexec: Exec format error\n"
        "The file './install.sh' is marked as an executable but could not be run by the operating system."
    )
    assert _lead(text) == "no-shebang"


def test_script_with_windows_checkout_is_crlf() -> None:
    text = "I cloned the repo on Windows 11.\nweb-1  | exec /docker-entrypoint.sh: no such file or directory"
    assert _lead(text) == "script-crlf"


def test_mac_cpu_decided_by_uname() -> None:
    assert _lead("zsh: bad CPU type in executable: ./tool\n$ uname -m\nx86_64") == "macos-bad-cpu"
    assert _lead("zsh: bad CPU type in executable: ./tool\nMacBook Air M2") == "macos-no-rosetta"


def test_go_env_of_a_cross_build_run_on_the_mac() -> None:
    text = (
        "fork/exec /var/folders/x/T/go-build1/b001/exe/main: exec format error\n"
        '$ go version\ngo version go1.19.4 darwin/arm64\nGOHOSTOS="darwin"\nGOOS="linux"\n'
    )
    assert _lead(text) == "elf-on-macos"


# --------------------------------------------------------------------------------------------
# Saying how sure: ranking, confidence and the deciding command


def test_bare_message_is_ambiguous_with_a_deciding_command() -> None:
    d = explain.explain_text("exec /usr/local/bin/app: exec format error")
    exec_format = [h for h in d.hypotheses if h.symptom == "exec-format"]
    assert len(exec_format) >= 3
    assert exec_format[0].confidence < 0.8
    assert 0.9 <= sum(h.confidence for h in exec_format) <= 1.001
    assert exec_format[0].decide.startswith("goci-doctor inspect /usr/local/bin/app")
    assert [h.confidence for h in exec_format] == sorted((h.confidence for h in exec_format), reverse=True)


def test_cli_json_keeps_the_ranking_and_text_shows_the_leader(tmp_path) -> None:
    log = tmp_path / "crash.log"
    log.write_text("#7 0.311 exec /app: exec format error\n", encoding="utf-8")
    cmd = [sys.executable, "-m", "goci_doctor", "explain"]
    doc = json.loads(
        subprocess.run([*cmd, "--json", str(log)], capture_output=True, text=True, timeout=120, check=False).stdout
    )
    hyps = doc["diagnosis"]["hypotheses"] if "diagnosis" in doc else doc["hypotheses"]
    assert hyps[0]["family"] == "wrong-arch" and len(hyps) >= 3
    assert {"family", "confidence", "symptom", "reasons", "decide"} <= set(hyps[0])
    text = subprocess.run([*cmd, str(log)], capture_output=True, text=True, timeout=120, check=False).stdout
    assert "Leading hypothesis" in text and "to decide: goci-doctor inspect /app" in text


# --------------------------------------------------------------------------------------------
# Bounded and linear


def test_patterns_on_untrusted_text_are_re2() -> None:
    compiled = [rx for rx, _name in logpeel._LAUNCHERS] + [logpeel._PREFIX]
    compiled += [*list(pastefacts._CUES.values()), pastefacts._SCREEN, pastefacts._FILE, pastefacts._UNAME_A]
    assert all(isinstance(rx, re2._Regexp) for rx in compiled)


def test_paste_facts_read_a_bounded_number_of_lines() -> None:
    pf = pastefacts.PasteFacts()
    pf.feed_many(["noise"] * pastefacts.MAX_LINES)
    pf.feed_many(["$ uname -m", "aarch64"])
    assert pf.host_arch == ""  # past the bound: not read
    assert pf.lines_read == pastefacts.MAX_LINES


def test_every_symptom_candidate_is_a_family() -> None:
    from goci_doctor.knowledge import families

    fams = families()
    for s in SYMPTOMS:
        assert set(s.candidates) <= set(fams) and set(s.signals) <= set(fams), s.id


@pytest.mark.parametrize(
    "evidence",
    [
        "$ readelf -h app\nELF Header:\n  Class:                             ELF64\n"
        "  Machine:                           AArch64",
        "$ go version -m app\napp: go1.22.5\n\tpath\texample.com/app\n\tbuild\tGOARCH=arm64\n\tbuild\tGOOS=linux",
    ],
)
def test_readelf_and_go_version_m_give_the_binary_arch(evidence: str) -> None:
    pf = pastefacts.facts_of(evidence)
    assert pf.binary_arch == "arm64"
    lead = explain.explain_text(EXEC + evidence + "\n$ uname -m\nx86_64").hypotheses[0]
    assert lead.family == "wrong-arch" and lead.confidence >= 0.7


def test_readelf_interpreter_needed_and_objdump_glibc_floor() -> None:
    pf = pastefacts.facts_of(
        "  [Requesting program interpreter: /lib64/ld-linux-x86-64.so.2]\n"
        " 0x0000000000000001 (NEEDED)             Shared library: [libc.so.6]\n"
        "0000000000000000      DF *UND*  0000000000000000 (GLIBC_2.34) pthread_create\n"
        "0000000000000000      DF *UND*  0000000000000000 (GLIBC_2.2.5) write\n"
    )
    assert pf.interpreter == "/lib64/ld-linux-x86-64.so.2"
    assert pf.needed == ["libc.so.6"]
    assert pf.glibc_floor == "2.34"


@pytest.mark.parametrize(
    ("text", "family"),
    [
        ("bash: ./run.sh: /bin/bash^M: bad interpreter: No such file or directory", "script-crlf"),
        ("/usr/bin/env: ‘bash\\r’: No such file or directory", "script-crlf"),
        (
            "bash: ./run.sh: /usr/local/bin/python3.12: bad interpreter: No such file or directory",
            "script-interpreter-missing",
        ),
        ("/usr/bin/env: ‘python’: No such file or directory", "script-interpreter-missing"),
    ],
)
def test_script_interpreter_wordings(text: str, family: str) -> None:
    assert _lead(text) == family
