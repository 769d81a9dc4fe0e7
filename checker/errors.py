"""One error family. The CLI maps every `NhiGateError` to exit code 2 with its message."""

from __future__ import annotations


class NhiGateError(RuntimeError):
    """A problem that prevents a verdict: usage, config, rule pack or git input."""


class ConfigError(NhiGateError):
    """`.nhi-gate.yaml` is invalid; the message names the file and the key path."""


class RulePackError(NhiGateError):
    """A shipped rule pack or catalogue under `rules/` does not validate against its schema."""


class GitError(NhiGateError):
    """A git question could not be answered: not a repository, a missing ref, a shallow clone."""


class GitHubError(NhiGateError):
    """The GitHub API could not be reached or refused a request needed for approval."""
