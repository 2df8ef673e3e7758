"""goci-doctor: diagnose Go builds and deploys that crash."""

__version__ = "0.1.0"
