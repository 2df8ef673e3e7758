"""The lab: proof in real containers. ``runner`` (the protocol and the replay runner), ``engine``
(connect, describe, sweep), ``docker`` (the Docker runner), ``containerfs`` and ``imagefiles``
(an image's files without running it), ``images``/``imagespecs``/``rootfs`` (local target images),
``builds`` (diagnostic rebuilds), ``fleet`` (several engines), ``proof`` (run and judge),
``onmachine`` (``run --on-this-machine``), ``sandbox`` (limits), ``demo`` (recorded scenarios).

Imports: model, records, platforms, safety, knowledge, config, artifact, hostenv, diagnosis; the
Docker SDK lazily. Never render, cli or tui.
"""
