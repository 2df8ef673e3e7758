"""Facts from the rest of a paste: the evidence an expert reads around the error line.

People paste ``file``, ``ldd``, ``uname``, ``lscpu``, ``go env``, ``go version``, ``docker version``,
``docker image inspect``, ``/etc/os-release``, Dockerfile ``FROM`` lines, the build command
(``GOOS=… GOARCH=… CGO_ENABLED=… go build``) and a sentence about their machine ("on a Raspberry
Pi", "Windows XP", "M2 Mac"). ``PasteFacts`` collects them line by line in one pass with bounded
memory, so a CI log of any size can be read; ``hypotheses`` lets them decide between the families
that share a symptom.

Structured outputs (``file``, ``uname``, ``go env``...) are *facts*; free-text mentions are *cues*,
weaker evidence that never override a fact. All patterns are google-re2 (linear time).
May import: the standard library, re2 and goci_doctor.diagnosis.explain.logpeel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import re2

from goci_doctor import platforms
from goci_doctor.diagnosis.explain.logpeel import clean

# Machine names as tools print them that are not ``uname -m`` spellings (file, readelf -h, docker
# platforms); every plain machine name comes from the one table (platforms.py).
_TOOL_ARCH = {
    "intel 80386": "386",
    "arm aarch64": "arm64",
    "arm64/v8": "arm64",
    "arm/v7": "arm",
    "arm/v6": "arm",
    "ucb risc-v": "riscv64",
    "risc-v": "riscv64",
    "64-bit powerpc": "ppc64le",
    # readelf says "PowerPC64" for both byte orders; little-endian is what Linux distributions ship.
    "powerpc64": "ppc64le",
    "ibm s/390": "s390x",
    "advanced micro devices x86-64": "amd64",
}


def goarch_of(name: str) -> str:
    """GOARCH for a machine name as tools print it ("" when unknown)."""
    key = name.strip().lower().strip('"')
    if key in _TOOL_ARCH:
        return _TOOL_ARCH[key]
    return platforms.goarch(key) if platforms.is_known(key) else ""


def _rx(pattern: str) -> re2._Regexp:  # type: ignore[name-defined]
    return re2.compile("(?i)" + pattern)


_ARCH_WORD = r"(?P<arch>x86_64|x86-64|aarch64|arm64|armv7l|armv6l|i686|i386|riscv64|ppc64le|s390x|loongarch64)"
_UNAME_A = _rx(r"^(?:Linux|Darwin) \S+ (?P<kernel>\d+\.\d+[\w.+-]*) .*\b" + _ARCH_WORD + r"\b")
_UNAME_R = _rx(r"^(?P<kernel>[2-6]\.\d+\.\d+[-\w.+~]*)$")
_BARE_ARCH = _rx(r"^" + _ARCH_WORD + r"$")
_LSCPU = _rx(r"^(?:Architecture|Arch)\s*:\s*" + _ARCH_WORD)
_OS_ARCH = _rx(r"OS/Arch:\s*(?P<os>linux|darwin|windows|freebsd)/(?P<arch>\w+)")
_INSPECT_ARCH = _rx(r'"Architecture":\s*"(?P<arch>\w+)"')
_FILE = _rx(
    r"^(?P<name>[^\s:]+):\s+(?P<what>ELF (?:32|64)-bit [LM]SB [^,]*, (?P<arch>[^,]+)|PE32\+? executable.*|Mach-O.*"
    r"|HTML document.*|.*shell script.*|current ar archive.*|(?:ASCII|UTF-8 Unicode) text.*|data)"
)
_INTERP = _rx(r"interpreter (?P<interp>/\S+?),")
_MACHO_ARCH = _rx(r"Mach-O (?:64-bit )?(?:executable )?(?P<arch>arm64|x86_64|i386)")
_GOENV = _rx(r"^(?:set |export )?(?P<key>GOOS|GOARCH|GOHOSTOS|GOHOSTARCH|CGO_ENABLED)=\"?(?P<value>[\w.]*)\"?$")
_BUILD_VAR = _rx(r"\b(?P<key>GOOS|GOARCH|CGO_ENABLED)=(?P<value>[\w.]+)")
_GO_VERSION = _rx(r"go version go[\d.]+\w* (?P<os>linux|darwin|windows|freebsd)/(?P<arch>\w+)")
_FROM = _rx(r"^FROM\s+(?:--platform=(?P<platform>\S+)\s+)?(?P<image>[^\s]+)")
_OS_RELEASE = _rx(r'^(?:/etc/os-release:)?(?:ID|NAME|PRETTY_NAME)="?(?P<name>[^"]+)"?$')
_LDD_VERSION = _rx(r"^ldd \([^)]*\) (?P<version>2\.\d+)")
_MUSL_LOADER = _rx(r"/lib/ld-musl-\w+\.so\.1")
_PLATFORM_WARNING = _rx(
    r"requested image's platform \((?P<want>[\w/]+)\) does not match "
    r"the detected host platform \((?P<host>[\w/]+)\)"
)
_BUILD_TARGET = _rx(r"Building target: (?P<os>linux|windows|darwin|freebsd)/(?P<arch>\w+)")
_DARWIN_UNAME = _rx(r"Darwin Kernel Version .*RELEASE_(?P<arch>X86_64|ARM64)")
# readelf -h / -l / -d, objdump -T, go version -m
_READELF_MACHINE = _rx(r"^Machine:\s+(?P<machine>.+?)\s*$")
_READELF_INTERP = _rx(r"\[Requesting program interpreter: (?P<interp>/[^\]]+)\]")
_NEEDED = _rx(r"\(NEEDED\)\s+Shared library: \[(?P<lib>[^\]]+)\]")
_GLIBC_REF = _rx(r"\bGLIBC_(?P<version>2\.\d+)\b")
_GO_BUILD_SETTING = _rx(r"^build\s+(?P<key>GOOS|GOARCH|CGO_ENABLED)=(?P<value>\w+)")


# Free-text cues (weaker than facts). One alternation screens a line before any parser runs.
def _any(*alternatives: str) -> re2._Regexp:  # type: ignore[name-defined]
    return _rx("|".join(alternatives))


_CUES: dict[str, re2._Regexp] = {  # type: ignore[name-defined]
    "arm-host": _any(
        r"raspberry|raspbian|\brpi ?\d|\bpi ?[345]\b|armv[678]|aarch64|\barm64\b",
        r"\barm (?:server|device|board|runner|cloud)|graviton|ampere|pine64|odroid|rock64",
        r"orange pi|jetson|飞腾|鲲鹏|\barm\b",
    ),
    "x86-32-host": _any(r"\bi686\b|32[- ]?bit (?:os|system|kali|linux|ubuntu|debian)"),
    "mac": _any(
        # "darwin" as a word of its own (uname, "on darwin"), not inside a file name like app-darwin-arm64,
        # which says what the binary was built for, not where it ran.
        r"\bmac ?os\b|\bos ?x\b|macbook|\bimac\b|mac mini|sw_vers|(?:^|[\s(,;:])darwin(?:$|[\s),;:])",
        r"catalina|big sur|monterey|ventura",
        r"sonoma|sequoia|/Users/|\bmac\b|苹果|Mac系统",
    ),
    "apple-silicon": _any(
        r"apple (?:silicon|m\d)|\bm[1-4] ?(?:pro|max|ultra|mac|chip|issue)?\b|\[m[1-4]", r"arm64 mac|rosetta"
    ),
    "intel-mac": _any(r"intel (?:mac|core|processor|处理器)|intel处理器|\bintel\b|老mac"),
    "windows": _any(
        r"\bwindows\b|\bwin ?(?:10|11)\b|\bwsl\b|docker desktop|git for windows|powershell", r"\bC:\\|mingw|msys"
    ),
    "old-windows": _any(
        r"windows ?xp|\bxp\b(?: sp\d)?|win ?2k|windows ?2000|win ?2003|windows ?(?:server )?2003",
        r"\bvista\b|windows ?7|\bwin ?7\b|windows7|win7|windows ?(?:server )?2008",
        r"windows ?8(?:\.1)?\b",
    ),
    "wants-32bit": _any(r"32[- ]?bit|32位|\bx86\b[^_-]|i386|有32位"),
    "dll": _any(r"\.dll\b|ctypes|\bcdll\b|loadlibrary|\bdll\b"),
    "sixteen-bit": _any(r"16[- ]?bit"),
    "crlf": _any(r"\$'\\r'|\\r\b|\bcrlf\b|line endings?|dos2unix|illegal option -$|换行符"),
    "html": _any(r"<!doctype|<html|text/html|\bhtml (?:file|page)"),
    "go-build": _any(r"\bgo build\b|\bgo run\b|\bgo install\b|gobuild|goreleaser"),
    "cgo": _any(r"\bcgo\b|CGO_ENABLED=1|CGO_CFLAGS|-gcflags|raylib|fyne"),
    "container": _any(
        r"standard_init_linux|exec user process|\bdocker\b|\bpodman\b|kubectl|crashloopbackoff",
        r"\bcompose\b|\bcontainer\b|\bpod\b|\bk3s\b|microk8s|entrypoint",
    ),
    "alpine": _any(r"\balpine\b|(?:^|[\s(,])musl\b|\bapk (?:add|upgrade)|libc6-compat|\bapk\b"),
    "no-libc-image": _any(r"\bscratch\b|distroless"),
    "library": _any(r"\blibrary\b|\.a\.out\b"),
    "s6": _any(r"s6-supervise|s6-rc|/etc/services\.d/"),
}
_STRUCTURED = (
    r"ELF |PE32|Mach-O|HTML document|ar archive|shell script|ASCII text|UTF-8 Unicode text"
    r"|GOOS|GOARCH|GOHOST|CGO_ENABLED|go version|Building target|^FROM "
    r"|OS/Arch|Architecture|^Linux |^Darwin |interpreter|ld-musl|^ldd |os-release|^ID=|^NAME=|platform"
    r"|^[2-6]\.\d+\.|^(?:x86_64|aarch64|arm64|armv7l|i686)$|^Machine:|program interpreter|\(NEEDED\)|GLIBC_2\."
    r"|^build\s"
)
_SCREEN_BODY = "|".join(f"(?:{rx.pattern[4:]})" for rx in _CUES.values()) + "|" + _STRUCTURED
_SCREEN = _rx(_SCREEN_BODY)
# The same screen over a batch of lines joined by newlines: ^ and $ then anchor at every line.
_SCREEN_BATCH = re2.compile("(?im)" + _SCREEN_BODY)

MAX_LINES = 200_000
# `file` descriptions to a format name; a leading space means "anywhere in the description".
_FORMATS = (
    ("elf", "elf"),
    ("pe32", "pe"),
    ("mach-o", "macho"),
    ("html", "html"),
    (" script", "script"),
    (" ar archive", "ar"),
    (" text", "text"),
)


@dataclass
class PasteFacts:
    """What the paste says about the machine, the binary and the build (empty string: not said)."""

    host_arch: str = ""
    host_arch_from: str = ""
    binary_arch: str = ""
    binary_arch_from: str = ""
    binary_format: str = ""
    interpreter: str = ""
    host_os: str = ""
    goos: str = ""
    goarch: str = ""
    gohostos: str = ""
    cgo: str = ""
    kernel: str = ""
    glibc: str = ""
    libc: str = ""
    """musl, none (scratch/distroless) or glibc: the C library of the system the program ran on."""
    images: list[str] = field(default_factory=list)
    needed: list[str] = field(default_factory=list)
    """DT_NEEDED libraries from ``readelf -d`` (at most 32)."""
    glibc_floor: str = ""
    """The newest GLIBC_2.x symbol version seen in ``objdump -T`` / ``readelf -V`` output."""
    cues: set[str] = field(default_factory=set)
    lines_read: int = 0

    def summary(self) -> dict[str, str]:
        """The non-empty facts as strings, for evidence in reports."""
        out = {k: v for k, v in self.__dict__.items() if isinstance(v, str) and v}
        if self.images:
            out["images"] = ", ".join(self.images[-3:])
        if self.cues:
            out["cues"] = ", ".join(sorted(self.cues))
        return out

    # ------------------------------------------------------------------------------------------
    def feed(self, raw: str, *, cleaned: bool = False) -> None:
        """Read one more line of the paste (``cleaned``: already through logpeel.clean)."""
        if self.lines_read >= MAX_LINES:
            return
        self.lines_read += 1
        line = raw if cleaned else clean(raw)
        if not line or not _SCREEN.search(line):
            return
        for name, rx in _CUES.items():
            if name not in self.cues and rx.search(line):
                self.cues.add(name)
        self._structured(line)

    def feed_many(self, lines: list[str]) -> None:
        """Read a batch of cleaned lines: one screen over the batch instead of one call per line."""
        if self.lines_read >= MAX_LINES:
            return
        self.lines_read += len(lines)
        if not _SCREEN_BATCH.search("\n".join(lines)):
            return
        for line in lines:
            if line and _SCREEN.search(line):
                for name, rx in _CUES.items():
                    if name not in self.cues and rx.search(line):
                        self.cues.add(name)
                self._structured(line)

    def _set_host(self, arch: str, source: str) -> None:
        goarch = goarch_of(arch) or arch.lower()
        if goarch and not self.host_arch:
            self.host_arch, self.host_arch_from = goarch, source

    def _set_binary(self, arch: str, source: str) -> None:
        goarch = goarch_of(arch) or arch.lower()
        if goarch and not self.binary_arch:
            self.binary_arch, self.binary_arch_from = goarch, source

    def _structured(self, line: str) -> None:
        m = _UNAME_A.search(line)
        if m:
            self._set_host(m.group("arch"), "uname -a")
            self.kernel = self.kernel or m.group("kernel")
            if line.lower().startswith("darwin"):
                self.host_os = "darwin"
            else:
                self.host_os = self.host_os or "linux"
        self._binary_tools(line)
        m = _DARWIN_UNAME.search(line)
        if m:
            self.host_os = "darwin"
            self._set_host(m.group("arch"), "uname -a")
        if _BARE_ARCH.search(line):
            self._set_host(line, "uname -m")
        m = _UNAME_R.search(line)
        if m:
            self.kernel = self.kernel or m.group("kernel")
        m = _LSCPU.search(line)
        if m:
            self._set_host(m.group("arch"), "lscpu")
        m = _OS_ARCH.search(line)
        if m:
            self._set_host(m.group("arch"), "docker version")
        m = _INSPECT_ARCH.search(line)
        if m:
            self._set_binary(m.group("arch"), "docker image inspect")
        m = _PLATFORM_WARNING.search(line)
        if m:
            want, host = m.group("want").split("/"), m.group("host").split("/")
            self._set_binary("/".join(want[1:]) if len(want) > 2 else want[-1], "image platform")
            self._set_host("/".join(host[1:]) if len(host) > 2 else host[-1], "docker host platform")
            self.cues.add("platform-warning")
        m = _FILE.search(line)
        if m:
            self._file_line(m.group("name"), m.group("what"), m.group("arch") or "")
        m = _GOENV.search(line)
        if m:
            self._go_setting(m.group("key").upper(), m.group("value"))
        elif "go build" in line or "go run" in line or "go install" in line or "GOOS=" in line:
            for bm in re2.finditer(_BUILD_VAR.pattern, line):
                self._go_setting(bm.group("key").upper(), bm.group("value"))
        m = _BUILD_TARGET.search(line)
        if m:
            self._go_setting("GOOS", m.group("os"))
            self._go_setting("GOARCH", m.group("arch"))
        m = _GO_VERSION.search(line)
        if m:
            self.gohostos = self.gohostos or m.group("os")
        m = _FROM.search(line)
        if m:
            image = m.group("image")
            self.images.append(image)
            del self.images[:-20]
            low = image.lower()
            # The last FROM is the stage that runs: its C library is the target's.
            if "alpine" in low or "musl" in low:
                self.libc = "musl"
            elif low == "scratch" or "distroless" in low:
                self.libc = "none"
            else:
                self.libc = "glibc"
            if m.group("platform"):
                self._set_binary(m.group("platform").split("/", 1)[-1], "FROM --platform")
        m = _OS_RELEASE.search(line)
        if m and "alpine" in m.group("name").lower():
            self.libc = "musl"
        m = _LDD_VERSION.search(line)
        if m:
            self.glibc = m.group("version")
        if _MUSL_LOADER.search(line):
            self.interpreter = self.interpreter or _MUSL_LOADER.search(line).group(0)  # type: ignore[union-attr]

    def _binary_tools(self, line: str) -> None:
        """readelf -h/-l/-d, objdump -T and go version -m describe the binary itself."""
        m = _READELF_MACHINE.search(line)
        if m:
            self._set_binary(m.group("machine"), "readelf -h")
        m = _READELF_INTERP.search(line)
        if m:
            self.interpreter = self.interpreter or m.group("interp")
        m = _NEEDED.search(line)
        if m and len(self.needed) < 32:
            self.needed.append(m.group("lib"))
        if "GLIBC_2." in line and "not found" not in line:
            for gm in re2.finditer(_GLIBC_REF.pattern, line):
                v = gm.group("version")
                if tuple(map(int, v.split("."))) > tuple(map(int, (self.glibc_floor or "0.0").split("."))):
                    self.glibc_floor = v
        m = _GO_BUILD_SETTING.search(line)
        if m:
            self._go_setting(m.group("key").upper(), m.group("value"))
            if m.group("key").upper() == "GOARCH":
                self._set_binary(m.group("value"), "go version -m")

    def _file_line(self, name: str, what: str, arch: str) -> None:
        low = what.lower()
        fmt = next(
            (f for prefix, f in _FORMATS if low.startswith(prefix) or (prefix[0] == " " and prefix[1:] in low)), "data"
        )
        interp = _INTERP.search(what)
        # `file /bin/ls` describes the machine's own programs: the host's architecture, not the binary's.
        system = name.startswith(("/bin/", "/usr/bin/", "/sbin/", "bin/", "/usr/sbin/"))
        if fmt == "macho":
            mm = _MACHO_ARCH.search(what)
            arch = mm.group("arch") if mm else ""
        if system and fmt == "elf":
            self._set_host(arch, f"file {name}")
            return
        self.binary_format = self.binary_format or fmt
        if arch:
            self._set_binary(arch, f"file {name}")
        if interp:
            self.interpreter = self.interpreter or interp.group("interp")

    def _go_setting(self, key: str, value: str) -> None:
        if key == "GOOS":
            self.goos = value
        elif key == "GOARCH":
            self.goarch = value
        elif key == "GOHOSTOS":
            self.gohostos = value
        elif key == "CGO_ENABLED":
            self.cgo = value


def facts_of(text: str) -> PasteFacts:
    """Facts of a whole paste (for callers that hold the text in memory)."""
    pf = PasteFacts()
    for line in text.splitlines():
        pf.feed(line)
    return pf
