"""The diagnosis engine: verdicts for (artifact, target) pairs and crash chains.

Inputs are facts (``ArtifactFacts`` from static inspection, ``Target`` from the knowledge base,
``RunResult``/``BuildResult`` from the container lab). The output is a ``Diagnosis``: verdicts
plus one crash chain per failure family (the one recursive ``ChainNode`` structure every renderer
walks). The package entry re-exports the public API of its modules:

- ``common``: template facts, ``fill``, version comparison, macOS minimums
- ``prediction``: ``predict``, the static verdict for one (artifact, target) pair; ``checks`` and ``otheros`` hold
  the small checks it runs
- ``classify``: which failure family a real message belongs to
- ``chains``: crash chains, ``check_artifact``, ``merge``
- ``explain/``: log decoding and scanning (pasted logs become a ``Diagnosis``)

Imports: model, platforms, knowledge, safety (never lab, gate, render, cli or tui).
"""

from __future__ import annotations

from goci_doctor.diagnosis.chains import build_chain, check_artifact, merge, outcome_counts
from goci_doctor.diagnosis.checks import (
    WIN7_CRASH_MESSAGE,
    build_machine_paths,
    cpu_requirement,
    level_facts,
    parse_cpu,
)
from goci_doctor.diagnosis.classify import (
    MAX_FINDINGS_PER_FAMILY,
    MAX_LINE,
    MIN_HINT,
    classify_message,
    literal_hints,
    scan_lines,
)
from goci_doctor.diagnosis.common import (
    at_least,
    dyld_message,
    emulating_handlers,
    fill,
    macos_minimum,
    older_go_facts,
    program_kind,
)
from goci_doctor.diagnosis.prediction import predict

__all__ = [
    "MAX_FINDINGS_PER_FAMILY",
    "MAX_LINE",
    "MIN_HINT",
    "WIN7_CRASH_MESSAGE",
    "at_least",
    "build_chain",
    "build_machine_paths",
    "check_artifact",
    "classify_message",
    "cpu_requirement",
    "dyld_message",
    "emulating_handlers",
    "fill",
    "level_facts",
    "literal_hints",
    "macos_minimum",
    "merge",
    "older_go_facts",
    "outcome_counts",
    "parse_cpu",
    "predict",
    "program_kind",
    "scan_lines",
]
