"""nhi-gate: a pre-merge checker for non-human identities created or changed by AI agents."""

__version__ = "0.1.0"
