"""The repository files a job that runs nhi-gate executes before (or as) its nhi-gate step,
read as facts for NHI102 (`checker.checks.policy_files` decides).

A workflow step runs with the job's token and environment before the gate: a local action
(`uses: ./.github/actions/setup`) or a script it names can append `INPUT_FAIL-ON=never` to
`$GITHUB_ENV`, run `git replace`, or rewrite the checkout the gate then reads
(https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands#setting-an-environment-variable).
On `pull_request`, GitHub runs the pull request's own copy of those files, so an agent's edit
of one is an edit of the gate.

What is recorded (`gate_job_runs`), for each job of a workflow with a step that names
nhi-gate (`uses:` or `run:` text holding `nhi-gate`) or uses a local action that runs it (its
own steps, or a local action they use, at any depth: `uses: ./.github/actions/gate` whose
`run:` is `nhi-gate check`; `local_uses` lists the local actions a file uses), for its steps
up to and including the last such step, as a map from repository path to how the job runs it:

- `uses: ./dir` (a local action; https://docs.github.com/en/actions/sharing-automations/creating-actions/metadata-syntax-for-github-actions):
  `dir/` (every file under it) and `dir/action.yml`/`dir/action.yaml`; for the repository
  root (`uses: ./`) only its `action.yml`/`action.yaml`. `local_actions` lists the
  directories, so the caller reads each action's own steps (`action_runs`: a composite
  action's `run:` and `uses: ./...` steps, a JavaScript or Docker action's `main`/`pre`/
  `post`/`image` files);
- `run:` text: each word that is a relative path to a script (`./x`, or a name ending in
  `.sh`, `.bash`, `.py`, `.js`, `.mjs`, `.cjs`, `.ts`, `.rb`, `.pl`, `.ps1`, `.zsh`), under
  the step's `working-directory` (else the job's, else the workflow's `defaults.run`; each
  relative to the workspace, the repository root);
  `cd dir` moves the working directory for the words after it; `make` (`-C dir`,
  `-f file`): the makefile GNU make reads there (`GNUmakefile`,
  `makefile`, `Makefile`; https://www.gnu.org/software/make/manual/make.html#Makefile-Names);
  `npm`, `yarn`, `pnpm`, `bun`: the `package.json` there (its scripts and install hooks;
  https://docs.npmjs.com/cli/using-npm/scripts); `pip install` (also `pip3`, `python -m pip`,
  `uv pip`): each requirements or constraints file (`-r`/`--requirement`, `-c`/
  `--constraint`: it may name any package, index or URL) and, for a local project (`.`,
  `-e ./pkg`: an argument holding `/` or starting with `.`, as pip tells a path from a name),
  its `pyproject.toml`, `setup.py` and `setup.cfg` (their build hooks run code;
  https://pip.pypa.io/en/stable/cli/pip_install/#argument-handling,
  https://pip.pypa.io/en/stable/reference/requirements-file-format/); a requirements file's
  own `-r`/`-c` lines name more files, relative to its directory (`requirement_runs`, which
  the caller follows).

A path that leaves the repository (`..`, absolute, `~`, `$VAR`, `${{ }}`) is not recorded. A
file that cannot be read (not UTF-8, not YAML) gives no facts: the workflow itself is then a
gate workflow changed (`checker.commands.gate_files.gate_files`).
"""

from __future__ import annotations

import posixpath
import re
import shlex

from yaml.nodes import MappingNode, Node

from checker.decode import utf8
from checker.lazy_patterns import lazy_compile
from checker.safeyaml import get, items, scalar_text, sequence
from checker.safeyaml.load import load_text

Runs = dict[str, str]

_GATE = lazy_compile(r"nhi-gate", re.IGNORECASE)
_SCRIPT = lazy_compile(r"[\w.@+-][\w.@+/-]*\.(?:sh|bash|zsh|py|js|mjs|cjs|ts|rb|pl|ps1)",
                     re.IGNORECASE)
_MAKEFILES = ("GNUmakefile", "makefile", "Makefile")
_PACKAGE_MANAGERS = ("npm", "yarn", "pnpm", "bun")
_ACTION_FILES = ("action.yml", "action.yaml")
_PIP = lazy_compile(r"pip(?:3(?:\.\d+)?)?")
_PYTHON = lazy_compile(r"python(?:3(?:\.\d+)?)?")
_PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")
#: pip options naming a file whose content decides what is installed.
_PIP_FILES = ("-r", "--requirement", "-c", "--constraint")
#: Appended to how a file is run when pip reads it as a requirements or constraints file.
REQUIREMENTS = " (pip reads it as a requirements file)"
#: Shell words that separate commands.
_SEPARATORS = {"&&", "||", ";", "|", "&", "(", ")", "{", "}", "then", "do", "else"}


def _relative(base: str, word: str) -> str | None:
    """`word` as a repository path under directory `base`, or None when it leaves the
    repository or is not a literal path."""
    if not word or word.startswith(("/", "~", "-")) or "$" in word or "`" in word:
        return None
    path = posixpath.normpath(posixpath.join(base or ".", word))
    if path == ".." or path.startswith("../") or path.startswith("/"):
        return None
    return "" if path == "." else path


def _words(text: str) -> list[str]:
    out: list[str] = []
    for line in text.replace("\\\n", " ").split("\n"):
        line = re.sub(r"(?<![\w$])#.*$", "", line)
        for part in re.split(r"(&&|\|\||[;|&()])", line):
            try:
                out.extend(shlex.split(part))
            except ValueError:
                out.extend(part.split())
            out.append(";")
    return out


def run_files(text: str, workdir: str, why: str) -> Runs:
    """The repository files a `run:` script `text` executes (module docstring), with
    `workdir` its working directory, each mapped to `why`."""
    out: Runs = {}
    words = _words(text)
    start = True
    for i, word in enumerate(words):
        if word in _SEPARATORS:
            start = True
            continue
        command = start
        start = False
        name = word.rsplit("/", 1)[-1]
        if command and name in ("cd", "pushd") and i + 1 < len(words):
            workdir = _relative(workdir, words[i + 1]) or workdir
            continue
        if command and name in ("make", "gmake"):
            where, file = workdir, None
            rest = words[i + 1:]
            for j, arg in enumerate(rest):
                if arg in _SEPARATORS:
                    break
                nxt = rest[j + 1] if j + 1 < len(rest) else ""
                if arg == "-C" or arg.startswith("--directory="):
                    where = _relative(where, arg.partition("=")[2] or nxt) or where
                elif arg == "-f" or arg.startswith(("--file=", "--makefile=")):
                    file = arg.partition("=")[2] or nxt
            picked = ([_relative(where, file)] if file else
                      [_relative(where, m) for m in _MAKEFILES])
            out.update({p: why for p in picked if p})
        elif command and name in _PACKAGE_MANAGERS:
            path = _relative(workdir, "package.json")
            if path:
                out[path] = why
        elif command and (args := _pip_install(name, words[i + 1:])) is not None:
            out.update({p: why + (REQUIREMENTS if listed else "")
                        for p, listed in _pip_files(args, workdir)})
        if word.startswith("./") or _SCRIPT.fullmatch(word):
            path = _relative(workdir, word)
            if path:
                out[path] = why
    return out


def _pip_install(name: str, rest: list[str]) -> list[str] | None:
    """The arguments after `install` when a command `name` with arguments `rest` is a pip
    install (`pip`, `pip3`, `python -m pip`, `uv pip`), up to the next separator; else None."""
    words = []
    for word in rest:
        if word in _SEPARATORS:
            break
        words.append(word)
    if _PYTHON.fullmatch(name) and words[:2] == ["-m", "pip"]:
        words = words[2:]
    elif name == "uv" and words[:1] == ["pip"]:
        words = words[1:]
    elif not _PIP.fullmatch(name):
        return None
    return words[1:] if words[:1] == ["install"] else None


def _pip_files(args: list[str], workdir: str) -> list[tuple[str, bool]]:
    """The repository files a `pip install` with `args` reads (module docstring), each with
    True for a requirements or constraints file."""
    out: list[tuple[str, bool]] = []
    for j, arg in enumerate(args):
        nxt = args[j + 1] if j + 1 < len(args) else ""
        option, _, value = arg.partition("=")
        if option in _PIP_FILES or (arg[:2] in ("-r", "-c") and len(arg) > 2):
            file = value or (nxt if option in _PIP_FILES else arg[2:])
            out.append((_relative(workdir, file) or "", True))
            continue
        if j and args[j - 1] in _PIP_FILES:
            continue
        project = value if option == "--editable" else arg
        project = project.split("[", 1)[0]
        if project.startswith("-") or "://" in project or not (
                project.startswith(".") or "/" in project):
            continue
        where = _relative(workdir, project)
        if where is not None:
            out.extend((posixpath.join(where, f), False) for f in _PROJECT_FILES)
    return [(p, listed) for p, listed in out if p]


def requirement_files(runs: Runs) -> list[str]:
    """The paths of `runs` that pip reads as requirements or constraints files."""
    return sorted(p for p, why in runs.items() if why.endswith(REQUIREMENTS))


def requirement_runs(path: str, blob: bytes | None, why: str) -> Runs:
    """The requirements and constraints files that requirements file `path` (as `blob` holds
    it; run as `why` says) names on its `-r`/`-c` lines, relative to its directory (pip's
    rule for nested files). {} for an absent or unreadable file."""
    text = _text(blob)
    out: Runs = {}
    for line in (text or "").splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if not line.startswith("-"):
            continue
        words = line.split()
        found = _pip_files(words, posixpath.dirname(path))
        out.update({p: why for p, listed in found if listed})
    return out


def _workdir(node: Node | None, default: str) -> str:
    text = scalar_text(get(get(get(node, "defaults"), "run"), "working-directory"))
    return (_relative("", text) or default) if text else default


def _local_action(uses: str) -> str | None:
    """The directory of a local action `uses: ./dir`, or None for any other `uses:`."""
    if not uses.startswith("./") and uses != ".":
        return None
    return _relative("", uses.split("@", 1)[0])


def steps_runs(steps: list[Node], workdir: str, where: str) -> Runs:
    """The files `steps` run (module docstring), each mapped to how: `where` names the job or
    action they belong to."""
    out: Runs = {}
    for number, step in enumerate(steps, 1):
        uses = scalar_text(get(step, "uses")) or ""
        run = scalar_text(get(step, "run"))
        directory = _local_action(uses)
        if directory is not None:
            why = f"step {number} `uses: {uses}` of {where}"
            if directory:
                out[directory + "/"] = why
            out.update({posixpath.join(directory, f): why for f in _ACTION_FILES})
        if run:
            step_dir = scalar_text(get(step, "working-directory"))
            here = (_relative("", step_dir) or workdir) if step_dir else workdir
            shown = " ".join(run.split())[:60]
            out.update(run_files(run, here, f"step {number} `run: {shown}` of {where}"))
    return out


def local_actions(runs: Runs) -> list[str]:
    """The directories of the local actions in `runs` (`""` for the repository root)."""
    return sorted({posixpath.dirname(p) for p in runs if p.endswith(_ACTION_FILES)})


def local_uses(path: str, blob: bytes | None) -> frozenset[str]:
    """The directories of the local actions (`uses: ./dir`) the steps of workflow or action
    metadata file `path` (as `blob` holds it) use: every job's steps, or a composite action's
    `runs.steps`. `""` is the repository root; empty for an absent or unreadable file."""
    text = _text(blob)
    if text is None:
        return frozenset()
    stream = load_text(text, path)
    out: set[str] = set()
    for doc in stream.documents if stream.problem is None else ():
        steps = [s for _, _, job in items(get(doc, "jobs")) for s in sequence(get(job, "steps"))]
        steps += sequence(get(get(doc, "runs"), "steps"))
        found = (_local_action(scalar_text(get(s, "uses")) or "") for s in steps)
        out.update(d for d in found if d is not None)
    return frozenset(out)


def gate_job_runs(path: str, blob: bytes | None, gate_actions: frozenset[str] = frozenset()
                  ) -> Runs:  # fmt: skip
    """The files each job of workflow `path` (as `blob` holds it) that runs nhi-gate executes
    before or as its nhi-gate step: repository path (a directory when it ends in `/`) -> how
    (module docstring). A step runs nhi-gate when its `uses:` or `run:` names it, or when it
    uses a local action of `gate_actions` (directories whose action runs nhi-gate, at any
    depth: `checker.commands.gate_job`). {} for an absent or unreadable file or one with no
    such job."""
    text = _text(blob)
    if text is None:
        return {}
    stream = load_text(text, path)
    out: Runs = {}
    for doc in stream.documents if stream.problem is None else ():
        if not isinstance(doc, MappingNode):
            continue
        top = _workdir(doc, "")
        for job_id, _, job in items(get(doc, "jobs")):
            steps = sequence(get(job, "steps"))
            gated = [i for i, s in enumerate(steps)
                     if _GATE.search(scalar_text(get(s, "uses")) or "")
                     or _GATE.search(scalar_text(get(s, "run")) or "")
                     or _local_action(scalar_text(get(s, "uses")) or "") in gate_actions]
            if gated:
                out.update(steps_runs(steps[: gated[-1] + 1], _workdir(job, top),
                                      f"job `{job_id}` of {path}"))
    return out


def action_runs(directory: str, path: str, blob: bytes | None) -> Runs:
    """The files the local action in `directory` (its metadata file `path`, as `blob` holds
    it) runs: a composite action's steps, a JavaScript action's `main`/`pre`/`post` and a
    Docker action's `image` file. {} for an absent or unreadable file."""
    text = _text(blob)
    if text is None:
        return {}
    stream = load_text(text, path)
    out: Runs = {}
    for doc in stream.documents if stream.problem is None else ():
        runs = get(doc, "runs")
        where = f"the action {path}"
        out.update(steps_runs(sequence(get(runs, "steps")), directory, where))
        for key in ("main", "pre", "post", "image"):
            value = scalar_text(get(runs, key)) or ""
            target = _relative(directory, value) if "://" not in value else None
            if target:
                out[target] = f"`runs.{key}` of {where}"
    return out


def _text(blob: bytes | None) -> str | None:
    return None if blob is None else utf8(blob)
