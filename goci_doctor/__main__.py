"""``python -m goci_doctor``."""

import sys

from goci_doctor.cli import main

sys.exit(main())
