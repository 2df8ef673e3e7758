"""The Textual user interface: the guided troubleshooting session (``goci-doctor``, ``tui``, ``demo``).

Only this package imports Textual; the core below it never does.
"""
