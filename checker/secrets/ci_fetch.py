"""Script lines of a GitHub Actions job that fetch a pull request's code, for
`checker.secrets.ci_untrusted` (NHI315): `gh pr checkout`, `gh pr diff`, a git
fetch/clone/checkout of a head ref, a download (curl, wget, `gh api`) of a URL naming the
head or its diff that sends nothing, and, in a `workflow_run` workflow, a download of the
triggering run's artifacts with the gh CLI or the REST API (`gh run download <id>`, `gh api`
or curl of `actions/runs/<id>/artifacts` or `actions/artifacts/<id>/zip`): what a fork's pull
request run uploaded is its code as much as a checkout. Facts only: NHI315 decides.

Sources: gh's `run download` (https://cli.github.com/manual/gh_run_download); the REST API's
workflow run artifacts
(https://docs.github.com/en/rest/actions/artifacts#list-workflow-run-artifacts,
https://docs.github.com/en/rest/actions/artifacts#download-an-artifact) and a pull request
as a diff (https://docs.github.com/en/rest/pulls/pulls#get-a-pull-request, "custom media
types").
"""

from __future__ import annotations

from checker.lazy_patterns import lazy_compile

_GIT_GET = lazy_compile(
    r"\bgit\s+(?:-C\s+\S+\s+)?(?:fetch|checkout|pull|switch|clone|reset|merge|worktree\s+add)\b")
_GH_CHECKOUT = lazy_compile(r"\bgh\s+pr\s+checkout\b")
#: `gh pr diff` prints the pull request's diff (not with `--name-only`: only the file names).
_GH_DIFF = lazy_compile(r"\bgh\s+pr\s+diff\b(?![^|;&]*--name-only)")
#: Commands that download a URL (curl, wget, `gh api`, PowerShell's web cmdlets), and the
#: options that make one send rather than fetch (a POST of a commit status naming the head
#: fetches nothing): curl's data and form options and a method other than GET, wget's
#: `--post-*`/`--body-*`/`--method`, `gh api`'s fields (`-f`, `-F`, `--input`; they make it a
#: POST), PowerShell's `-Method`/`-Body`.
_DOWNLOAD = lazy_compile(
    r"(?<![\w-])(?:curl|wget|gh\s+api|Invoke-WebRequest|Invoke-RestMethod|iwr|irm)(?![\w-])")
_SENDS = lazy_compile(
    r"\s(?:-X\s*|--request[\s=]|--method[\s=]|-Method\s+)['\"]?(?!GET\b|Get\b)[A-Za-z]"
    r"|\s(?:-d|--data[\w-]*|-F|--form[\w-]*|--json|-T|--upload-file|--post-data|--post-file"
    r"|--body-data|--body-file|--field|--raw-field|--input|-Body)(?=[\s=]|$)")
_GH_FIELD = lazy_compile(r"\bgh\s+api\b.*\s-f(?=\s)")
#: The REST API's pull request (`/repos/o/r/pulls/N`) asked for as a diff or patch, by a
#: `.diff`/`.patch` suffix or its media type: the same code as the head, once applied.
_API_PULL = lazy_compile(r"pulls/(?:\$\{\{[^}]*\}\}|\$\{?\w+\}?|\d+)(\.(?:diff|patch))?(?![\w/])")
_DIFF_MEDIA = lazy_compile(r"application/vnd\.github(?:\.v3)?\.(?:diff|patch)")
_DIFF = lazy_compile(r"diff_url|patch_url|\.(?:diff|patch)\b")
#: `gh run download`, and the REST API paths of a run's artifacts or an artifact's archive.
_GH_RUN_DOWNLOAD = lazy_compile(r"\bgh\s+run\s+download\b")
_API_ARTIFACTS = lazy_compile(r"actions/(?:runs/\S+/artifacts|artifacts/\S+/(?:zip|\w+))")


def fetch(text: str, names_head: bool, names_run: bool) -> tuple[str, int] | None:
    """(how, where it starts) when script line `text` fetches the pull request's code (module
    doc). `names_head`: the line names the head (a ref, its repository or diff);
    `names_run`: it names the triggering run of a `workflow_run` workflow."""
    if m := _GH_CHECKOUT.search(text):
        return "`gh pr checkout`", m.start()
    if m := _GH_DIFF.search(text):
        return "`gh pr diff`", m.start()
    if names_run:
        if m := _GH_RUN_DOWNLOAD.search(text):
            return "`gh run download` of the triggering run's artifact", m.start()
        if _API_ARTIFACTS.search(text) and (m := _DOWNLOAD.search(text)) and not _sends(
                text, m.end()):
            return (f"a download of the triggering run's artifact "
                    f"(`{' '.join(m.group(0).split())}`)"), m.start()
    pull = _API_PULL.search(text)
    if pull and (pull.group(1) or _DIFF_MEDIA.search(text)) and (
            m := _DOWNLOAD.search(text)) and not _sends(text, m.end()):
        return (f"a download of the pull request's diff from the API "
                f"(`{' '.join(m.group(0).split())}`)"), m.start()
    if not names_head:
        return None
    if m := _GIT_GET.search(text):
        clone = "clone" in m.group(0).split()
        return ("a git clone of the head" if clone else "a git fetch of the head"), m.start()
    m = _DOWNLOAD.search(text)
    if m is None or _sends(text, m.end()):
        return None
    what = "diff" if _DIFF.search(text) else "code"
    return f"a download of the pull request's {what} (`{' '.join(m.group(0).split())}`)", m.start()


def _sends(text: str, after: int) -> bool:
    """True when the download command ending at `after` sends data (a POST) instead."""
    return bool(_SENDS.search(text[after:]) or _GH_FIELD.search(text))
