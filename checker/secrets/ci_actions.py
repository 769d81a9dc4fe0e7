"""What a GitHub Actions action does with the workspace, for `checker.secrets.ci_untrusted`:
after a pull request's head is checked out at the workspace root, an action that builds,
tests, lints or installs the workspace runs the pull request's code without being handed a
path (it works in `$GITHUB_WORKSPACE`). Facts only: NHI315 decides.

`workspace_use(action, inputs)` sorts an action (lower-cased `uses:` without `@ref`) and its
`with:` inputs into:
- `RUNS`: a documented kind that executes workspace code (`_RUNNERS`; a setup action whose
  install input is on, `_INSTALLS`; `actions/github-script` whose script loads a workspace
  file);
- `INERT`: a documented action that runs nothing from the workspace (`_INERT`: checkout,
  artifacts and caches, toolchain setup without an install, comments and labels, cloud
  logins, change lists);
- `UNKNOWN`: anything else, a `docker://` image too. The action is not read, so the caller
  fails closed on it.

Sources (each action's README, its inputs): https://github.com/actions/setup-python
(`pip-install`), https://github.com/ruby/setup-ruby (`bundler-cache` runs `bundle install`,
which evaluates the Gemfile), https://github.com/pnpm/action-setup (`run_install`),
https://github.com/cypress-io/github-action (installs dependencies and runs the project's
build and start commands), https://github.com/bahmutov/npm-install,
https://github.com/wearerequired/lint-action (runs the project's linters, whose JavaScript
configs execute), https://github.com/golangci/golangci-lint-action,
https://github.com/super-linter/super-linter, https://github.com/gradle/gradle-build-action,
https://github.com/actions/github-script (the script runs as given; `require` of a workspace
file runs that file).
"""

from __future__ import annotations

from collections.abc import Mapping

from checker.lazy_patterns import lazy_compile

RUNS = "runs"
INERT = "inert"
UNKNOWN = "unknown"

#: Actions that execute the workspace's code, by kind.
_RUNNERS: Mapping[str, str] = {
    "github/codeql-action/autobuild": "builds the workspace",
    "pre-commit/action": "runs the checkout's pre-commit hooks",
    "cypress-io/github-action": "installs and builds the workspace",
    "bahmutov/npm-install": "installs the workspace's packages (lifecycle scripts run)",
    "borales/actions-yarn": "runs the workspace's yarn scripts",
    "gradle/gradle-build-action": "runs the workspace's Gradle build",
    "wearerequired/lint-action": "lints the workspace (its linter configs execute)",
    "golangci/golangci-lint-action": "lints the workspace (builds its Go packages)",
    "super-linter/super-linter": "lints the workspace with its own configs",
    "github/super-linter": "lints the workspace with its own configs",
    "reviewdog/action-eslint": "lints the workspace (its ESLint config executes)",
}
#: Setup actions that install the workspace's dependencies when an input says so:
#: action -> (input, values that leave it off).
_INSTALLS: Mapping[str, tuple[str, frozenset[str]]] = {
    "actions/setup-python": ("pip-install", frozenset({""})),
    "ruby/setup-ruby": ("bundler-cache", frozenset({"", "false"})),
    "pnpm/action-setup": ("run_install", frozenset({"", "false"})),
}
#: Actions that check out, store or fetch files and run nothing from them, handed a head
#: checkout or not (https://github.com/actions/checkout, /upload-artifact, /download-artifact,
#: /cache; https://github.com/github/codeql-action upload-sarif;
#: https://github.com/dawidd6/action-download-artifact).
STORES = frozenset({
    "actions/checkout", "actions/upload-artifact", "actions/download-artifact", "actions/cache",
    "actions/cache/save", "actions/cache/restore", "github/codeql-action/upload-sarif",
    "dawidd6/action-download-artifact"})
#: Actions that run nothing from the workspace: they check out, store or fetch files, set up
#: a toolchain (without an install, `_INSTALLS`), comment, label, log in to a cloud, mint a
#: token or list changed files.
_INERT = STORES | frozenset({
    "actions/setup-node", "actions/setup-go", "actions/setup-java", "actions/setup-dotnet",
    "actions/setup-python", "ruby/setup-ruby", "pnpm/action-setup", "astral-sh/setup-uv",
    "actions/labeler", "actions/stale", "actions/first-interaction",
    "actions/create-github-app-token", "actions/github-script",
    "peter-evans/create-or-update-comment", "peter-evans/find-comment",
    "marocchino/sticky-pull-request-comment", "thollander/actions-comment-pull-request",
    "aws-actions/configure-aws-credentials", "google-github-actions/auth", "azure/login",
    "docker/login-action", "docker/setup-buildx-action", "docker/setup-qemu-action",
    "docker/metadata-action", "docker/build-push-action", "dorny/paths-filter",
    "tj-actions/changed-files",
})
#: A github-script `script:` that loads a file of the workspace.
_LOADS = lazy_compile(
    r"\b(?:require|import)\s*\(\s*(?:['\"`]\.{1,2}/|`\$\{\s*process\.env\.GITHUB_WORKSPACE"
    r"|[^)]*github\.workspace)")


def workspace_use(action: str, inputs: Mapping[str, str]) -> tuple[str, str]:
    """(`RUNS`, what it does) | (`INERT`, "") | (`UNKNOWN`, "") for `action` (lower-cased
    `uses:` without `@ref`) with its `with:` `inputs` (name -> text)."""
    if action in _RUNNERS:
        return RUNS, _RUNNERS[action]
    install = _INSTALLS.get(action)
    if install is not None:
        name, off = install
        value = (inputs.get(name) or "").strip().lower()
        if value not in off:
            return RUNS, f"installs the workspace's dependencies (`{name}: {value[:40]}`)"
    if action == "actions/github-script" and _LOADS.search(inputs.get("script") or ""):
        return RUNS, "loads a workspace file in its script"
    if action in _INERT:
        return INERT, ""
    return UNKNOWN, ""
