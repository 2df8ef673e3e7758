"""The CI gate: CI configs read into go builds, the GOCI lint rules over them, and policy.

Bottom up (each module imports only those below it; the import-linter contract in pyproject.toml
checks it): ``shell`` (scripts into go builds), ``yamlsrc`` (YAML with line numbers), ``matrix``
(job matrices) ← ``buildmodel`` (GoBuild, Dockerfile stages, the facts a reader returns) and
``makeresolve`` (the one Makefile parser) ← ``buildfollow`` (``make <goal>`` and scripts),
``ghaexpr``, ``gotemplate``, ``dockerfile_text`` ← one reader per format: ``dockerfile``,
``ghaworkflow``, ``gitlab``, ``makefile``, ``goreleaser``, ``gomod`` ← ``lint`` (the GOCI rules,
with ``imagefamily`` and ``cgouse``) ← ``policy``.

Imports nothing itself; its modules import goci_doctor.safety, model, knowledge, hostenv and
(lint's SARIF output) render.sarif.
"""
