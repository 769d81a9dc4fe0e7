"""The files `check` and `hook` read from git for one change, and what they hand to the rules.

Changed files become `SourceFile`s (unreadable ones NHI9xx problems); the other files of each
changed Terraform module are read for their values (`checker.sources.modules`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from checker import git
from checker.change import ChangeSet
from checker.commands.render_disk import RenderedChange
from checker.commands.symlinks import LinkReader
from checker.git import BlobEntry
from checker.git.repo import Repo
from checker.model import IdentityObject, ParseProblem, SourceFile
from checker.parsers.common import MAX_MODULE_DEPTH
from checker.pipeline import Parsed
from checker.policy.config import Config
from checker.sources.discovery import classify, excluded, text_file
from checker.sources.modules import (
    is_module_file,
    local_module_directories,
    may_be_document,
    module_directories,
    module_directory,
    orphan_variables,
    owner_directory,
    referenced_files,
    referencing,
    uses_module_values,
    var_file_directories,
)
from checker.sources.templates import CHART_FILE, IGNORE_FILE, template_charts

#: Names whose lines nhi-gate never reads (source code, images, lock and checksum files, build
#: rules): no parser, template, Terraform document (`file()` of a policy) or policy file has
#: them, so `check` computes no line origins for them (issue 16: 701 of 862 blames of a
#: cert-manager range were `.go` files).
NEVER_READ_SUFFIXES = (".go", ".py", ".js", ".mjs", ".ts", ".tsx", ".jsx", ".java", ".kt",
                       ".rs", ".rb", ".c", ".h", ".cc", ".cpp", ".hpp", ".cs", ".swift", ".php",
                       ".sh", ".bash", ".ps1", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico",
                       ".webp", ".pdf", ".sum", ".lock", ".mod", ".bazel", ".bzl")


@dataclass(frozen=True)
class ChangeRead:
    """What `check` or `hook` read from git for one change, before the rules run.

    `parsed()` waits for the parse started on the head and base sides (one `Parsed` each, in
    that order; see `pipeline.start_parse`). `head_sources` are the changed files at head,
    `unreadable` the NHI902/NHI903 problems of changed entries that could not be read,
    `siblings` the unchanged module files at head read for their values, `baseline` the
    baseline file as committed at base as (text, label), or None.
    """

    changeset: ChangeSet
    config: Config
    head_sources: list[SourceFile]
    unreadable: list[ParseProblem]
    siblings: list[SourceFile]
    parsed: Callable[[], list[Parsed]]
    baseline: tuple[str, str] | None
    #: The touched kustomizations rendered at head and base (`commands.render_sources`).
    rendered: RenderedChange | None = None
    #: Secret material the range's commits added to file versions head no longer has:
    #: (commit, `hardcoded_secret` facet) pairs (`commands.history`, `check` only).
    history: tuple[tuple[str, IdentityObject], ...] = ()


def may_be_read(path: str) -> bool:
    """True for a changed path whose lines nhi-gate may read, so `check` attributes them
    (`build_changeset`'s `blame_filter`): a format it parses by name (`classify`; any YAML
    may be a manifest), a chart template, or any name but `NEVER_READ_SUFFIXES` (Terraform's
    `file()` reads any name; policy files, kustomize inputs). A file left out has no line
    origins: its lines count as written by whoever touched it (`ChangedFile.attributed`)."""
    return (classify(path, None) is not None or bool(template_charts(path))
            or not path.lower().endswith(NEVER_READ_SUFFIXES))


def sources(blobs: Mapping[str, bytes | None], revision: str | None) -> list[SourceFile]:
    """The blobs that exist (`bytes`, not None) as `SourceFile`s at `revision`, by path."""
    return [SourceFile(p, b, revision) for p, b in sorted(blobs.items()) if b is not None]


def entry_sources(
    entries: Mapping[str, BlobEntry], revision: str | None, config: Config,
    links: LinkReader | None = None,
) -> tuple[list[SourceFile], list[ParseProblem]]:
    """Regular files as `SourceFile`s; paths that cannot be read as NHI9xx problems.

    Fail-closed (DESIGN.md "Bad input"): a symlink whose target is outside the repository
    (never followed; every symlink when `links` is None) or a submodule at a path nhi-gate
    would parse is NHI902; a blob over `config.max_file_bytes` is NHI903 at any path (its
    content is not parsed: an agent's 2.8 MB CSV is never silent), the message saying what was
    not checked. A symlink to a file inside the repository is read as that file (`links`,
    `checker.commands.symlinks`). Excluded paths are skipped. A text file no parser reads is
    still searched for token shapes (`large_text_sources`); a binary one over the budget is
    NHI903 only when it is over `large_text.MAX_SCAN_BYTES` too (else it is read, found binary,
    and skipped like any binary file: `large_text_sources` drops its problem)."""
    found: list[SourceFile] = []
    problems: list[ParseProblem] = []
    for path, entry in sorted(entries.items()):
        if entry.data is not None:
            found.append(SourceFile(path, entry.data, revision))
            continue
        if excluded(path, config.exclude):
            continue
        iac = _iac(path)
        if entry.too_large:
            what = ("not analysed" if iac else "what it defines was not analysed; only its lines "
                    "were searched for token shapes (a GitHub token, a cloud key, a private key)")
            problems.append(ParseProblem(
                path, "NHI903",
                f"{path}: {entry.size} bytes is over the {config.max_file_bytes}-byte budget; "
                + what,
            ))
        elif not iac:
            continue
        elif entry.is_symlink and links is not None and (inside := links(entry)) is not None:
            if inside[0] is not None:
                found.append(SourceFile(path, inside[0], revision))
        elif entry.is_symlink:
            problems.append(ParseProblem(
                path, "NHI902",
                f"{path}: symbolic link (git mode 120000); links are not followed, so the "
                "file it points to was not analysed",
            ))
        elif entry.mode == "160000":
            problems.append(ParseProblem(
                path, "NHI902",
                f"{path}: git submodule (mode 160000); its content is not analysed",
            ))
    return found, problems


def _iac(path: str) -> bool:
    """True when a parser reads `path` by its name (or it is JSON)."""
    return classify(path, None) is not None or path.lower().endswith(".json")


def large_text_sources(repo: Repo, revision: str | None, entries: Mapping[str, BlobEntry],
                       problems: list[ParseProblem]) -> list[SourceFile]:  # fmt: skip
    """The text files over the size budget that no parser reads by name (`entries` too large,
    at `revision`, None: the index), each reduced to the lines a format token may sit on
    (`secrets.large_text.hot_text`, line numbers kept), to be read by the format plugins like
    any other text file. A binary one is no text: its NHI903 is removed from `problems` (a
    binary file is never read, whatever its size)."""
    paths = [p for p, e in sorted(entries.items())
             if e.too_large and e.size is not None and not _iac(p)]
    if not paths:
        return []
    from checker.secrets.large_text import MAX_SCAN_BYTES, hot_text

    paths = [p for p in paths if (entries[p].size or 0) <= MAX_SCAN_BYTES]
    blobs = (git.read_index_entries(repo, paths) if revision is None
             else git.read_entries(repo, revision, paths))
    out: list[SourceFile] = []
    for path in paths:
        raw = blobs[path].data if path in blobs else None
        if raw is None:
            continue
        if not text_file(raw):
            problems[:] = [p for p in problems if not (p.path == path and p.rule_id == "NHI903")]
            continue
        hot = hot_text(raw)
        if hot is not None:
            out.append(SourceFile(path, hot, revision))
    return out


def module_siblings(
    repo: Repo, rev: str | None, changeset: ChangeSet, config: Config, *, base: bool,
    changed_sources: Sequence[SourceFile] = (),
) -> list[SourceFile]:
    """The Terraform module files (`.tf`, `.tofu`, `.tfvars`/`.tfvars.json`, also those in
    the module's `envs/`-like subdirectories: `modules.var_file_directories`) at
    commit `rev` (None: the index) of every directory in which the change touches one, except
    those the caller already reads for that side: the changed files at head (`base=False`); at base
    (`base=True`), the base versions of changed files that still exist (so a deleted
    `.tfvars` is kept: its values are part of the base module).

    `role = local.ci_role` in an unchanged `main.tf` changes when `locals.tf` does, so the
    module's other files are read too (`checker.sources.modules`). One git listing, and only when a
    changed path is a module file. Unreadable files (symlinks, over the size budget) are
    left out: their values stay unresolved.

    Files read with `file()`/`templatefile()` (policy and trust documents) are inputs too: a
    changed document (`modules.may_be_document`: a README is none) makes every module in a
    directory above it, or anywhere in the repository whose `.tf` text names the document's
    file name or calls `fileset()` (one `git grep`; a glob `fileset("${path.module}/../policies",
    "*.json")` selects files outside its module), whose `.tf` text references it a changed
    module (its `.tf`
    files are listed to find out), and the files
    the module files (these and `changed_sources`, the caller's changed files at `rev`)
    reference are read as well, at `rev`, and the `.tf` files of the local modules they call
    and of those these call in turn, `MAX_MODULE_DEPTH` calls deep
    (`checker.parsers.terraform.callees`), even in an excluded folder.
    """
    changed = {p for f in changeset.files for p in (f.path, f.old_path) if p}
    directories = module_directories(changed)
    documents = sorted(p for p in changed if may_be_document(p))
    if documents:  # the directories above them, and any whose `.tf` text names one
        named = git.grep_directories(  # and any with a `fileset()`, whose glob may select one
            repo, rev, sorted({p.rsplit("/", 1)[-1] for p in documents} | {"fileset("}),
            (".tf", ".tofu"))
        above = sorted({a for p in documents for a in _ancestors(p)}.union(named)
                       - set(directories))
        configs = git.read_directory_entries(
            repo, rev, above, (".tf", ".tofu"), max_bytes=config.max_file_bytes)
        directories = sorted({*directories, *referencing(documents, [
            SourceFile(p, e.data, rev) for p, e in configs.items() if e.data is not None])})
    if not directories:
        return []
    directories = sorted({*directories, *_callers(repo, rev, directories, config)})
    skip = (
        {f.old_path or f.path for f in changeset.files if f.status not in ("A", "D")}
        if base else changed
    )  # fmt: skip
    entries = git.read_directory_entries(  # and the -var-file files in envs/, vars/, ...
        repo, rev, [*directories, *var_file_directories(directories)],
        (".tf", ".tofu", ".tf.json", ".tofu.json", ".tfvars", ".tfvars.json"),
        max_bytes=config.max_file_bytes,
        exclude=skip,
    )
    found = [
        SourceFile(path, entry.data, rev)
        for path, entry in sorted(entries.items())
        if entry.data is not None and path not in skip and is_module_file(path)
        and owner_directory(path) in directories
    ]
    readers = _declaring(repo, rev, orphan_variables(changed_sources, found), directories)
    if readers:  # the modules declaring what a var file no module reads sets
        read = git.read_directory_entries(
            repo, rev, readers, (".tf", ".tofu"), max_bytes=config.max_file_bytes, exclude=skip)
        found += [SourceFile(p, e.data, rev) for p, e in sorted(read.items())
                  if e.data is not None and p not in skip]
    seen = {*directories, *readers}
    callers = [*found, *changed_sources]
    for _ in range(MAX_MODULE_DEPTH):  # local modules the changed modules call, and theirs in turn
        callees = sorted(local_module_directories(callers) - seen)
        if not callees:
            break
        seen.update(callees)
        called = git.read_directory_entries(
            repo, rev, callees, (".tf", ".tofu"), max_bytes=config.max_file_bytes, exclude=skip)
        callers = [SourceFile(p, e.data, rev) for p, e in sorted(called.items())
                   if e.data is not None and p not in skip]
        found += callers
    wanted = sorted(referenced_files([*found, *changed_sources]) - skip - changed)
    if not wanted:
        return found
    documents_read = (
        git.read_index_entries(repo, wanted, max_bytes=config.max_file_bytes) if rev is None
        else git.read_entries(repo, rev, wanted, max_bytes=config.max_file_bytes)
    )  # fmt: skip
    return found + [SourceFile(p, e.data, rev) for p, e in sorted(documents_read.items())
                    if e.data is not None]


def _callers(repo: Repo, rev: str | None, directories: Sequence[str], config: Config
             ) -> list[str]:  # fmt: skip
    """The module directories at `rev` (None: the index), other than `directories`, whose
    `.tf`/`.tofu` files call one of `directories` as a local module (`source = "./role"`), and
    those calling these in turn, `MAX_MODULE_DEPTH` levels up: a change of a called module is
    judged through its callers too, with the arguments they pass
    (`checker.parsers.terraform.callees`). One `git grep` per level (for the called folder's
    name), none for the root folder."""
    found: set[str] = set()
    todo = sorted(d for d in directories if d)
    for _ in range(MAX_MODULE_DEPTH):
        if not todo:
            break
        paths = [p for p in git.grep_files(repo, rev, sorted({d.rsplit("/", 1)[-1] for d in todo}),
                                           (".tf", ".tofu"))
                 if module_directory(p) not in found and module_directory(p) not in directories]
        read = (git.read_index_entries(repo, paths, max_bytes=config.max_file_bytes)
                if rev is None else
                git.read_entries(repo, rev, paths, max_bytes=config.max_file_bytes))
        calling = {module_directory(p) for p, e in read.items() if e.data is not None
                   and set(todo) & local_module_directories([SourceFile(p, e.data, rev)])}
        todo = sorted(calling - found)
        found.update(calling)
    return sorted(found)


def _declaring(repo: Repo, rev: str | None, names: Sequence[str],
               directories: Sequence[str]) -> list[str]:
    """The module directories at `rev` (None: the index), other than `directories`, whose
    `.tf`/`.tofu` text declares one of the variables `names` (`variable "NAME"`, as `terraform
    fmt` writes it): one `git grep`, none when `names` is empty. A var file no module reads
    (`modules.orphan_variables`) sets them, and what they feed decides how its change is judged
    (`checker.checks.unread`)."""
    if not names:
        return []
    found = git.grep_directories(repo, rev, [f'variable "{n}"' for n in names], (".tf", ".tofu"))
    return sorted(set(found) - set(directories))


def _ancestors(path: str) -> list[str]:
    """The directories above repository path `path`, nearest first, ending with `""`."""
    parts = path.split("/")[:-1]
    return ["/".join(parts[:i]) for i in range(len(parts), -1, -1)]


def to_parse(siblings: Sequence[SourceFile], changeset: ChangeSet) -> list[SourceFile]:
    """The unchanged siblings whose identities may read module values: only they can be
    touched by a change of those values; the rest are read for their values only."""
    changed = {p for f in changeset.files for p in (f.path, f.old_path) if p}
    return [s for s in siblings
            if s.path not in changed and is_module_file(s.path) and uses_module_values(s.raw)]


def chart_files(repo: Repo, rev: str | None, paths: Sequence[str]) -> list[SourceFile]:
    """The `Chart.yaml` and `.helmignore` files at commit `rev` (None: the index) of the Helm
    charts whose `templates/` folder may hold one of `paths` (`templates.template_charts`), so
    the parse knows a chart template from a plain manifest in a `templates/` folder that is not
    in a chart or that `.helmignore` leaves out (DESIGN.md "Rendering"). One git lookup, and
    only when a path has a `templates/` folder; a `Chart.yaml` that is not a regular file does
    not make a chart."""
    wanted = sorted({f"{c}/{name}" if c else name for p in paths for c in template_charts(p)
                     for name in (CHART_FILE, IGNORE_FILE)})
    if not wanted:
        return []
    found = (git.read_index_entries(repo, wanted) if rev is None
             else git.read_entries(repo, rev, wanted))
    return [SourceFile(p, e.data, rev) for p, e in sorted(found.items()) if e.data is not None]


def deleted_terraform(changeset: ChangeSet) -> dict[str, str]:
    """The Terraform and YAML files (`.tf`, `.tofu`, `.tf.json`, `.tofu.json`, `.yaml`,
    `.yml`) the change deletes, as base path -> the same path: read at base with the changed
    files, since a Deny policy a deleted file held applied to a principal that may still be
    there (`checks/deny_sources.py`), and a deleted admission policy or webhook stops guarding
    the cluster (`checks/admission.py`)."""
    return {f.path: f.path for f in changeset.files if f.status == "D" and f.path.endswith(
        (".tf", ".tofu", ".tf.json", ".tofu.json", ".yaml", ".yml"))}
