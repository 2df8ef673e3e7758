"""``python -m goci_doctor``.

Imports: cli.
"""

import sys

try:
    from goci_doctor.cli import main
except KeyboardInterrupt:  # Ctrl-C (or SIGTERM/SIGHUP) while still importing: nothing to clean yet
    sys.stderr.write("goci-doctor: interrupted\n")
    sys.exit(130)

sys.exit(main())
