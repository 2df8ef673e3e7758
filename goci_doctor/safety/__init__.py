"""Guards for untrusted input and for every output: ``linear`` (RE2 patterns), ``safeio`` (bounded
reading), ``redact`` (secrets), ``safetext`` (the one output step), ``outfile`` (``-o`` never replaces a
device or symlink), ``interrupts`` (signals).

Imports: model only.
"""
