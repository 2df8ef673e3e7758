"""``python -m goci_doctor``."""

import sys

try:
    from goci_doctor.cli import main
except KeyboardInterrupt:
    # Ctrl-C while the command line is still being imported: the same line and code as later.
    sys.stderr.write("goci-doctor: interrupted\n")
    sys.exit(130)

sys.exit(main())
