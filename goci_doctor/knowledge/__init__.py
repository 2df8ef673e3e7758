"""The target knowledge base: deploy/build targets, Go release minimums and CPU levels, as data.

Facts live in TOML files under ``goci_doctor/data/`` (targets.toml, go_releases.toml,
cpu_levels.toml), each entry with the source it was taken from. The package loads them,
validates them once (cached) and looks things up; this entry re-exports the public names of
``base``, ``target_catalog``, ``releases``, ``build_variants``, ``cgo`` and ``failures``
(families.toml).
Adding a distribution is a data change: a new ``[[target]]`` entry plus a test, never a new
code path.

Imports: model, safety (the knowledge base is read by every layer above it).

A broken shipped data file is a bug: validation raises ``GociError`` naming the file and the
entry, and the test suite loads every file.
"""

from __future__ import annotations

from goci_doctor.knowledge.base import GO_ARCHS, GO_OSES, LIBCS, version_tuple
from goci_doctor.knowledge.build_variants import Variant, is_variant_name, load_variants, variants
from goci_doctor.knowledge.cgo import CgoModule, cgo_modules, load_cgo_modules
from goci_doctor.knowledge.failures import Family, FixSpec, families, load_families, native_wording
from goci_doctor.knowledge.releases import (
    CpuLevel,
    GoRelease,
    cpu_level,
    cpu_levels,
    go_release,
    go_releases,
    load_cpu_levels,
    load_go_releases,
)
from goci_doctor.knowledge.target_catalog import (
    TargetCatalog,
    catalog,
    find_target,
    glibc_of,
    load_catalog,
    load_targets,
    normalize_ref,
    resolve_target,
    targets,
)

__all__ = [
    "GO_ARCHS",
    "GO_OSES",
    "LIBCS",
    "CgoModule",
    "CpuLevel",
    "Family",
    "FixSpec",
    "GoRelease",
    "TargetCatalog",
    "Variant",
    "catalog",
    "cgo_modules",
    "cpu_level",
    "cpu_levels",
    "families",
    "find_target",
    "glibc_of",
    "go_release",
    "go_releases",
    "is_variant_name",
    "load_catalog",
    "load_cgo_modules",
    "load_cpu_levels",
    "load_families",
    "load_go_releases",
    "load_targets",
    "load_variants",
    "native_wording",
    "normalize_ref",
    "resolve_target",
    "targets",
    "variants",
    "version_tuple",
]
