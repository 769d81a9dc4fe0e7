"""Entry point of the composite GitHub Action (`action.yml`): `python -m checker.action`.

It runs `nhi-gate check --format github --sarif FILE` on the pull request's base..head and
turns the result into what a workflow needs:

- workflow-command annotations on stdout (`::error file=...`, capped as GitHub caps them);
- a Markdown job summary appended to `$GITHUB_STEP_SUMMARY` (verdict, blocking findings, who
  must approve); on an error, the error itself;
- outputs in `$GITHUB_OUTPUT`: `verdict` (`pass`, `fail` or `error`), `blocking-count`
  (unsuppressed blocking results in the SARIF) and `sarif-file` (absolute path, empty when no
  SARIF was written);
- the exit code: 0 pass, 1 blocking findings, 2 no verdict (bad input, shallow clone, ...).

Inputs arrive only as environment variables (the action maps `inputs.*` through `env:` and
never interpolates `${{ }}` into a script):

| variable | meaning | default |
|---|---|---|
| `NHI_GATE_BASE`, `NHI_GATE_HEAD` | override the revisions | from the event |
| `NHI_GATE_CONFIG` | config file | `.nhi-gate.yaml` at the base revision |
| `NHI_GATE_FAIL_ON` | `error`, `warning`, `note`, `never` (tightens only) | config, else `error` |
| `NHI_GATE_SARIF_FILE` | where to write SARIF | `$RUNNER_TEMP/nhi-gate.sarif` |
| `NHI_GATE_WORKING_DIRECTORY` | the repository checkout | `$GITHUB_WORKSPACE`, else `.` |
| `NHI_GATE_ALL_AUTHORS` | `true` gates every author | `false` |
| `GITHUB_TOKEN` | enables PR-review approvals | unset: no API calls |

Revisions come from `GITHUB_EVENT_PATH`: `pull_request` (and `merge_group`) events give
`pull_request.base.sha`/`head.sha`; `push` gives `before`/`after`. `pull_request_target` is
refused: it runs with a write token and secrets in the base repository, and a check that
reads the pull request's files there invites the "pwn request" pattern; use `pull_request`.

Before running, both revisions and their merge-base must exist locally; a shallow checkout
(`actions/checkout` fetches one commit by default) gets a message asking for `fetch-depth: 0`.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from checker.cli import main as cli_main
from checker.errors import NhiGateError
from checker.reporters.github import escape_data, escape_property

_ZERO_SHA = "0" * 40


@dataclass(frozen=True)
class ActionRange:
    """The revisions to compare and, for pull requests, the PR number and repository."""

    base: str
    head: str
    pr_number: int | None = None
    repository: str | None = None


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, "").strip() or default


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def read_event(path: str | None) -> Mapping[str, object]:
    """The event payload at `path` (GITHUB_EVENT_PATH); {} when unset.

    Raises `NhiGateError` naming the file when it cannot be read or is not a JSON object.
    """
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NhiGateError(f"GITHUB_EVENT_PATH {path}: cannot read the event: {exc}") from exc
    if not isinstance(data, dict):
        raise NhiGateError(f"GITHUB_EVENT_PATH {path}: the event is not a JSON object")
    return data


def _get(data: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def event_range(event_name: str, event: Mapping[str, object]) -> ActionRange:
    """Base and head from the event (overridden by NHI_GATE_BASE / NHI_GATE_HEAD).

    Raises `NhiGateError` for `pull_request_target`, for an event without revisions (and no
    overrides), and for a push that creates a branch (`before` is all zeros) without overrides.
    """
    base_in, head_in = _env("NHI_GATE_BASE"), _env("NHI_GATE_HEAD")
    if event_name == "pull_request_target":
        raise NhiGateError(
            "nhi-gate does not run on `pull_request_target`: that event runs with a write token "
            "and secrets in the base repository, so checking a pull request's files there "
            "invites the 'pwn request' pattern. Trigger the workflow with `on: pull_request`."
        )
    repository = _get(event, "repository", "full_name")
    repo_name = repository if isinstance(repository, str) else None
    base: object = None
    head: object = None
    number: object = None
    if isinstance(_get(event, "pull_request"), dict):
        base = _get(event, "pull_request", "base", "sha")
        head = _get(event, "pull_request", "head", "sha")
        number = _get(event, "pull_request", "number") or _get(event, "number")
    elif isinstance(_get(event, "merge_group"), dict):
        base = _get(event, "merge_group", "base_sha")
        head = _get(event, "merge_group", "head_sha")
    elif event_name == "push":
        base = _get(event, "before")
        head = _get(event, "after")
        if base == _ZERO_SHA:
            base = None
    base = base_in or (base if isinstance(base, str) and base else None)
    head = head_in or (head if isinstance(head, str) and head else None)
    if not isinstance(base, str) or not isinstance(head, str):
        raise NhiGateError(
            f"cannot tell what to compare for the `{event_name or 'unknown'}` event: run on "
            "`pull_request` (or `push` to an existing branch), or set the action's `base` and "
            "`head` inputs"
        )
    return ActionRange(base, head, number if isinstance(number, int) else None, repo_name)


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Replace refs off, as every git run of nhi-gate (`checker.git.repo`).
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False,
        env={**os.environ, "GIT_NO_REPLACE_OBJECTS": "1"},
    )


def verify_history(repo: Path, rng: ActionRange) -> None:
    """Both revisions and their merge-base must be in the clone.

    Raises `NhiGateError` with a fix when they are not: for a shallow clone the message asks
    for `fetch-depth: 0` on actions/checkout.
    """
    probe = _git(repo, "rev-parse", "--is-shallow-repository")
    if probe.returncode != 0:
        raise NhiGateError(f"{repo}: not a git repository (run actions/checkout first)")
    shallow = probe.stdout.strip() == "true"
    hint = (
        "the checkout is shallow (actions/checkout fetches a single commit by default); set "
        "`fetch-depth: 0` on actions/checkout so the pull request's history is available"
        if shallow
        else "fetch it (actions/checkout with `fetch-depth: 0`), or set the `base`/`head` inputs"
    )
    for label, sha in (("base", rng.base), ("head", rng.head)):
        if _git(repo, "cat-file", "-e", f"{sha}^{{commit}}").returncode != 0:
            raise NhiGateError(f"the {label} commit {sha[:12]} is not in the clone: {hint}")
    if _git(repo, "merge-base", rng.base, rng.head).returncode != 0:
        raise NhiGateError(
            f"base {rng.base[:12]} and head {rng.head[:12]} have no common ancestor in the "
            f"clone: {hint}"
        )


def _safe_directory(repo: Path) -> None:
    """Trust the workspace for this process's git calls only (containers: 'dubious ownership').

    Uses git's GIT_CONFIG_COUNT environment, a command-scope (protected) config source, so
    the runner's global git config is not changed.
    """
    count = int(os.environ.get("GIT_CONFIG_COUNT", "0") or 0)
    os.environ[f"GIT_CONFIG_KEY_{count}"] = "safe.directory"
    os.environ[f"GIT_CONFIG_VALUE_{count}"] = str(repo.resolve())
    os.environ["GIT_CONFIG_COUNT"] = str(count + 1)


def fork_url(event: Mapping[str, object]) -> str | None:
    """The clone URL of a fork pull request's head repository (its git-ai and Agent Trace
    notes live there, not in the base repository), or None for other events and same-repo
    pull requests."""
    pr = event.get("pull_request")
    if not isinstance(pr, dict):
        return None
    repos = [side.get("repo") if isinstance(side, dict) else None
             for side in (pr.get("head"), pr.get("base"))]
    head, base = (r if isinstance(r, dict) else {} for r in repos)
    url = head.get("clone_url")
    if not isinstance(url, str) or not url or head.get("full_name") == base.get("full_name"):
        return None
    return url


def _fetch_ai_notes(repo: Path, fork: str | None = None) -> None:
    """Best effort: fetch Git AI Standard notes (`refs/notes/ai`) and Agent Trace notes
    (`refs/notes/agent-trace`), which actions/checkout does not fetch, so line-level AI
    authorship is seen: from `origin`, then from a fork PR's head repository `fork`
    (`fork_url`), whose notes are those of the PR's commits. No remote, no notes or no
    network is fine: the check then relies on commit metadata alone."""
    remotes = [] if _git(repo, "remote", "get-url", "origin").returncode != 0 else ["origin"]
    for remote in [*remotes, *([fork] if fork else [])]:
        for ref in ("refs/notes/ai", "refs/notes/agent-trace"):  # one missing ref fails a fetch
            with contextlib.suppress(subprocess.TimeoutExpired, OSError):
                subprocess.run(
                    ["git", "-C", str(repo), "fetch", "--quiet", "--no-tags", remote,
                     f"+{ref}:{ref}"],
                    capture_output=True, check=False, timeout=60,
                    env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_NO_REPLACE_OBJECTS": "1"},
                )


def check_argv(rng: ActionRange, repo: Path, sarif: Path) -> list[str]:
    """The `nhi-gate check` arguments for this run."""
    argv = ["check", "--repo", str(repo), "--base", rng.base, "--head", rng.head,
            "--format", "github", "--sarif", str(sarif)]
    if _env("NHI_GATE_CONFIG"):
        argv += ["--config", str(repo / _env("NHI_GATE_CONFIG"))]  # relative: to the checkout
    if _env("NHI_GATE_FAIL_ON"):
        argv += ["--fail-on", _env("NHI_GATE_FAIL_ON")]
    if _truthy(_env("NHI_GATE_ALL_AUTHORS")):
        argv.append("--all-authors")
    if os.environ.get("GITHUB_TOKEN") and rng.repository and rng.pr_number is not None:
        argv += ["--github-repo", rng.repository, "--pr", str(rng.pr_number)]
        if _env("GITHUB_API_URL"):
            argv += ["--github-api-url", _env("GITHUB_API_URL")]
    return argv


def blocking_count(sarif: Path) -> int:
    """Results in the SARIF file marked blocking and not suppressed; 0 when there is no file."""
    try:
        log = json.loads(sarif.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0
    count = 0
    for run in log.get("runs", []):
        for result in run.get("results", []):
            props = result.get("properties", {})
            if props.get("blocking") and not result.get("suppressions"):
                count += 1
    return count


def write_outputs(values: Mapping[str, str]) -> None:
    """Append `name=value` lines to `$GITHUB_OUTPUT` (printed to stdout when unset)."""
    path = os.environ.get("GITHUB_OUTPUT")
    text = "".join(f"{k}={v}\n" for k, v in values.items() if "\n" not in v)
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)


def _summary(text: str) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text)


def _fail(message: str) -> int:
    """Report an error that prevented a verdict: annotation, summary, outputs, exit 2."""
    print(f"::error title={escape_property('nhi-gate')}::{escape_data(message)}")
    print(f"nhi-gate: error: {message}", file=sys.stderr)
    _summary(f"## nhi-gate: ⚠️ no verdict\n\n{message}\n")
    write_outputs({"verdict": "error", "blocking-count": "0", "sarif-file": ""})
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the action; returns the exit code (0 pass, 1 blocking findings, 2 error)."""
    del argv  # the action takes no arguments: inputs come from the environment
    workspace = Path(_env("NHI_GATE_WORKING_DIRECTORY") or _env("GITHUB_WORKSPACE", "."))
    # The step runs from a temp dir (so the checkout cannot shadow a module): paths the user
    # gives are relative to the checkout.
    sarif = (workspace / (_env("NHI_GATE_SARIF_FILE") or
                          str(Path(_env("RUNNER_TEMP", ".")) / "nhi-gate.sarif"))).resolve()
    try:
        event_name = _env("GITHUB_EVENT_NAME")
        event = read_event(os.environ.get("GITHUB_EVENT_PATH"))
        rng = event_range(event_name, event)
        _safe_directory(workspace)
        verify_history(workspace, rng)
        _fetch_ai_notes(workspace, fork_url(event))
    except NhiGateError as exc:
        return _fail(str(exc))
    sarif.parent.mkdir(parents=True, exist_ok=True)
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = cli_main(check_argv(rng, workspace, sarif))
    errors = stderr.getvalue()
    sys.stderr.write(errors)
    if code not in (0, 1):
        message = errors.strip().removeprefix("nhi-gate: error: ") or f"nhi-gate exited {code}"
        return _fail(message)
    write_outputs({
        "verdict": "pass" if code == 0 else "fail",
        "blocking-count": str(blocking_count(sarif)),
        "sarif-file": str(sarif) if sarif.is_file() else "",
    })
    return code


if __name__ == "__main__":
    sys.exit(main())
