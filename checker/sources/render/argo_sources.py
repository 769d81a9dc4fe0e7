"""Where an Argo CD Application source's value file or file parameter is (issue 12, GitOps
inputs), for `gitops.application_uses`: a path relative to the chart directory, or, in a
multi-source Application, `$<ref>/<path>` from the root of the source whose `ref` is `<ref>`.
That is a file of this repository when the `ref` source has the chart source's `repoURL` and
`targetRevision`; the same repository at another revision is named but not computed; another
repository is not computed. Source:
https://argo-cd.readthedocs.io/en/stable/user-guide/multiple_sources/#helm-value-files-from-external-git-repository

Pure: text in, text out.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Collection, Mapping, Sequence

from checker.safeyaml import YValue


def repository_path(text: str, root: str, source: Mapping[str, YValue],
                    sources: Sequence[YValue]) -> tuple[str, str]:
    """(path in this repository, why it is not computed: "" when it is) of a value file or
    file parameter `text` of the Application `source` whose chart is at `root`, among the
    Application's `sources` (a `$<ref>/` prefix names another source's root; module doc).
    The path is "" when it cannot be one of this repository; with a reason, the path is the
    file of this repository it may be (another spelling of this repository's URL, another
    revision), for the caller to keep as an input."""
    if text.startswith("$"):
        ref, _, rest = text[1:].partition("/")
        named = [s for s in sources if isinstance(s, dict) and s.get("ref") == ref]
        if not named or not rest:
            return "", f"value file `{text}` names no source `ref: {ref}`"
        other = named[0]
        full = posixpath.normpath(rest.strip("/"))
        if full.startswith("../"):
            return "", f"value file `{text}` is not a file of this repository"
        if source.get("chart"):
            return full, (f"value file `{text}` feeds the chart `{source.get('chart')}` of "
                          f"{source.get('repoURL')}, which nhi-gate does not render")
        if repository(other.get("repoURL")) != repository(source.get("repoURL")):
            return full, (f"value file `{text}` is read from another repository "
                          f"({other.get('repoURL')}, the source `ref: {ref}`)")
        if str(other.get("targetRevision") or "HEAD") != str(
                source.get("targetRevision") or "HEAD"):
            return full, (f"value file `{text}` is {full} at revision "
                          f"`{other.get('targetRevision') or 'HEAD'}` (the source `ref: {ref}`), "
                          "not the revision of the chart")
        return full, ""
    full = posixpath.normpath(posixpath.join(root, text))
    if "://" in text or full.startswith("../"):
        return "", f"value file `{text}` is not a file of this repository"
    return full, ""


def repository(url: YValue) -> str:
    """A git repository URL as one spelling: no scheme, user, `.git` or trailing slash, an
    scp-like `git@host:org/repo` as `host/org/repo`, lower case."""
    text = str(url or "").strip().lower()
    text = re.sub(r"^[a-z+]+://", "", text)
    text = re.sub(r"^[^@/]+@", "", text)
    text = re.sub(r"^([^/:]+):(?!\d)", r"\1/", text)
    return text.rstrip("/").removesuffix(".git")


def remote_reads(source: Mapping[str, YValue], sources: Sequence[YValue],
                 paths: Collection[str]) -> tuple[tuple[str, ...], str]:
    """(files of this repository among `paths`, why not computed) of a source of a chart from
    elsewhere (`chart:`): its `$<ref>/` value files (Argo CD renders that chart with them;
    nhi-gate does not render a chart it does not hold)."""
    helm = source.get("helm")
    files = helm.get("valueFiles") if isinstance(helm, dict) else None
    reads: list[str] = []
    problem = ""
    for name in files if isinstance(files, list) else []:
        full, why = repository_path(str(name), "", source, sources)
        if full in paths and str(name).startswith("$"):
            reads.append(full)
            problem = problem or why
    return tuple(reads), problem
