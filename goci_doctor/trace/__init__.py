"""``goci-doctor trace``: watch real commands exec, and explain every exec that fails.

``events`` (plain data) ← ``engines`` (which tracer, bpftrace programs, strace command) ←
``parse`` (their line output → exec events) ← ``procs`` (the held command, its stderr) ←
``rootfs`` (a process's own filesystem) ← ``diagnose`` (crash chains) ← ``collect`` (failed
execs' files held, the events made into results) and ``runners`` (bpftrace, strace) ←
``session`` (runs the command and the tracer) ← ``command`` (CLI, text, JSON). Nothing here is
imported by ``inspect`` or the core: the CLI imports ``command`` only for ``trace``; ``hostenv``
asks ``engines`` lazily.
"""
