"""goci-doctor: diagnose Go builds and deploys that crash.

Imports: nothing of goci_doctor.
"""

import gc

__version__ = "0.1.0"


def started() -> None:
    """Start-up is over: what was loaded lives as long as the process; collect cycles from now on.

    ``goci-doctor`` (``__main__.entry``) turns the cyclic collector off while it starts: importing
    and building the first screen allocates hundreds of thousands of objects that all stay alive, so
    the ~130 young collections they triggered found nothing to free and cost 30-45 ms of the TUI's
    first paint. Here those objects move out of the collector's sight (``gc.freeze``: later full
    collections do not walk them again) and it is turned back on. Called before a command runs,
    and by the TUI after its first screen is drawn; harmless when the collector was never off.
    """
    gc.freeze()
    gc.enable()
