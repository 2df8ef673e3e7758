"""goci-doctor: diagnose Go builds and deploys that crash.

Imports: nothing of goci_doctor.
"""

__version__ = "0.1.0"
