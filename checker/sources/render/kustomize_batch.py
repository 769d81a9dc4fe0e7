"""Several kustomizations built by one kustomize process, each with the result of its own build.

Most of a small build's CPU time is kustomize loading its OpenAPI schema (for strategic-merge
patches), once per process: `render_batch` builds a batch of kustomizations as the resources of
one umbrella kustomization, each member's closure in a directory of its own
(`m<i>-<random token>/`, so no member sees another's files or a path it could guess), and hands
each output object back to its member by the origin annotation every object carries
(`buildMetadata: [originAnnotations]` on the umbrella, which kustomize passes down to every
level). What kustomize does only at the top of a build was read in its source (v5.5.0,
`api/krusty/kustomizer.go` `Run`, `api/internal/target/kusttarget.go`
`makeCustomizedResMap` and `accumulateDirectory`), and each is the same as a member's own
build or that member is built alone:

- sort: the legacy order is a total order on (kind order, group/version/kind, namespace,
  name), so a member's objects keep their own order within the batch's; a member with
  `sortOptions` (top level only) is built alone;
- `buildMetadata`: the top's replaces every level's; a member that sets it is built alone;
- `openapi`, `vars`, `configurations`, `crds` (the schema is process-wide; vars are resolved,
  and name references fixed, across the whole build with every level's settings) and plugin
  `generators`/`transformers`/`validators`: anywhere in a member's closure, it is built alone;
- a `Component` as the member itself: built alone;
- hash suffixes: per object, from a ConfigMap's or Secret's name and data, not its
  neighbours;
- name references (`FixBackReferences`) are fixed once over the whole build: an object of one
  member could be taken for the referral of another's reference. Whenever it is, the
  referral's current name is written into the referrer, so a member whose output or files
  name an object of another member (that name as a whole word) is built alone (`_suspects`),
  counting only the members whose objects can be referrals: kustomize matches a reference
  against an object's earlier names, which only a namespace, prefix, suffix, hash suffix or
  patch gives (`renames`);
- duplicate object ids across members, or one member that fails: the build fails; the member
  the error names (when exactly one) is built alone and the rest again, else the batch is
  split in two (`render_batch`), down to lone builds, whose failures are their own.

Budgets: the batch gets one member's CPU budget (a member's own build is part of the batch's
work, so a batch within it has every member within it; a sum would let a member over its
budget pass inside a batch), and the sum of the members' output caps, each member's share
then held to half its own cap (its origin annotations are a little longer in a batch) or it is
built alone. A member's paths, objects, lines and failures are those of `render_files`.
"""

from __future__ import annotations

import re
import secrets
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from checker.sources.render.api import Rendered, RenderLimits
from checker.sources.render.kustomize import (
    Prepared,
    build_argv,
    find_kustomize,
    is_kustomization,
    kustomization_path,
    load_kustomization,
    prepare,
    rendered,
)
from checker.sources.render.kustomize_output import origin_path, split
from checker.sources.render.run import run_limited

#: A kustomization to render: its directory and its closure (repository path -> bytes).
Job = tuple[str, Mapping[str, bytes]]
#: Kustomization keys whose effect reaches past the member or depends on its being the top
#: of the build (see the module docstring): a closure with one is built alone.
ALONE_KEYS = frozenset({"sortOptions", "openapi", "vars", "configurations", "crds",
                        "generators", "transformers", "validators", "buildMetadata",
                        "helmCharts", "helmGlobals"})
#: At most this many members, and this many bytes of closures, in one batch; a closure
#: larger than `_ALONE_BYTES` is built alone (batching saves it little).
MAX_MEMBERS = 16
_MAX_BYTES = 1 << 20
_ALONE_BYTES = 256 << 10
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_UMBRELLA = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"


def alone(root: str, files: Mapping[str, bytes]) -> bool:
    """Whether the kustomization in directory `root` (closure `files`) must be built alone:
    a kustomization of its closure sets an `ALONE_KEYS` key, it is a `Component`, its closure
    is over `_ALONE_BYTES`, or its kustomization file cannot be read."""
    if sum(len(b) for b in files.values()) > _ALONE_BYTES:
        return True
    kpath = kustomization_path(root, files)
    top = load_kustomization(files[kpath]) if kpath is not None else None
    if top is None or top.get("kind", "Kustomization") not in ("Kustomization", None):
        return True
    for path, raw in files.items():
        doc = load_kustomization(raw) if is_kustomization(path) else None
        if doc is not None and ALONE_KEYS.intersection(doc):
            return True
    return False


def plan(jobs: Sequence[Job], groups: int) -> list[list[int]]:
    """The batches of `jobs` (lists of indices, each index once), at least `groups` of them
    when there are that many batchable jobs, so each core gets one: no two members of a batch
    whose objects are expected to share an id (`_expected_ids`: they would fail the build
    together), none over `MAX_MEMBERS` or `_MAX_BYTES`; a job that must be built `alone` is a
    batch of its own."""
    singles = [[i] for i, (root, files) in enumerate(jobs) if alone(root, files)]
    single = {i for [i] in singles}
    expected = {i: _expected_ids(*jobs[i]) for i in range(len(jobs)) if i not in single}
    clashes = {i: sum(1 for j, theirs in expected.items() if j != i and mine & theirs)
               for i, mine in expected.items()}
    # the members that clash with most others first, each batch they open then taken by
    # those that clash with none in it (tgi-2b, tgi-7b beside vllm-2b, vllm-7b); then by size
    members = sorted(expected, key=lambda i: (-clashes[i], -_size(jobs[i][1]), i))
    batches: list[list[int]] = [[] for _ in range(max(1, min(groups, len(members))))]
    ids: list[set[tuple[str, str, str]]] = [set() for _ in batches]
    load = [0 for _ in batches]
    for i in members:
        mine = expected[i]
        size = _size(jobs[i][1])
        fits = [b for b in range(len(batches)) if not ids[b] & mine
                and len(batches[b]) < MAX_MEMBERS and load[b] + size <= _MAX_BYTES]
        if not fits:
            batches.append([])
            ids.append(set())
            load.append(0)
            fits = [len(batches) - 1]
        best = min(fits, key=lambda b: (load[b], b))
        batches[best].append(i)
        ids[best] |= mine
        load[best] += size
    return [sorted(b) for b in batches if b] + singles


def render_batch(jobs: Sequence[Job], limits: RenderLimits,
                 command: list[str] | None = None) -> list[Rendered]:
    """Each job's `Rendered`, in order, as `render_files` gives it alone, from as few builds
    as the module docstring allows: one when all goes well, else the member a failure names
    alone and the rest again, else the two halves; lone builds for a member that must be
    built `alone`, or whose share of the output or whose names make it suspect."""
    from checker.sources.render import render_files  # the package imports this module

    if len(jobs) <= 1:
        return [render_files(root, files, limits, command) for root, files in jobs]
    command = command if command is not None else find_kustomize()
    out: dict[int, Rendered] = {}
    lone: list[int] = []
    failure: str | None = None
    with tempfile.TemporaryDirectory(prefix="nhi-gate-render-") as tmp:
        top = Path(tmp) / "batch"
        token = secrets.token_hex(8)
        dirs = [f"m{i}-{token}" for i in range(len(jobs))]
        ready: dict[int, Prepared] = {}
        for i, (root, files) in enumerate(jobs):
            got = prepare(_materialise(top / dirs[i], files), root, command)
            if isinstance(got, Rendered):
                out[i] = got  # failed before any build: the same reason alone
            else:
                ready[i] = got
        if len(ready) == 1:
            lone.extend(ready)
        elif ready:
            failure = _build(top, dirs, ready, limits, command or [], jobs, out, lone)
    if failure is not None:
        named = [i for i in range(len(jobs)) if dirs[i] in failure and i not in out]
        rest = [i for i in range(len(jobs)) if i not in out]
        parts = ([named, [i for i in rest if i != named[0]]] if len(named) == 1 else
                 [rest[:len(rest) // 2], rest[len(rest) // 2:]])
        for part in parts:
            for i, got in zip(part, render_batch([jobs[i] for i in part], limits, command),
                              strict=True):
                out[i] = got
    for i in lone:
        out[i] = render_files(*jobs[i], limits, command)
    return [out[i] for i in range(len(jobs))]


def _build(top: Path, dirs: Sequence[str], ready: Mapping[int, Prepared],
           limits: RenderLimits, command: list[str], jobs: Sequence[Job],
           out: dict[int, Rendered], lone: list[int]) -> str | None:
    """Build the `ready` members as one umbrella kustomization in `top`; each member's
    `Rendered` into `out`, or its index into `lone`. The failure's text when the build failed
    or an object could not be handed back to exactly one member."""
    resources = "".join(f"- {_quoted(dirs[i] + ('/' + r.root if r.root else ''))}\n"
                        for i, r in sorted(ready.items()))
    (top / "kustomization.yaml").write_text(
        f"{_UMBRELLA}buildMetadata: [originAnnotations]\nresources:\n{resources}",
        encoding="utf-8")
    budget = RenderLimits(limits.cpu_seconds, limits.max_bytes * len(ready))
    got = run_limited(build_argv(command, top), budget, top)
    for member in ready.values():
        member.restore()
    if isinstance(got, str):
        return got
    owner = re.compile(r"\bm(\d+)-" + re.escape(dirs[0].partition("-")[2]) + "/")
    texts: dict[int, list[str]] = {i: [] for i in ready}
    for text in split(got.decode("utf-8", "replace")):
        found = {int(m) for m in owner.findall(text)}
        if len(found) != 1 or next(iter(found)) not in ready:
            return "an object of the batch names no single member"
        texts[found.pop()].append(text)
    escaped: set[int] = set()
    for i, member in ready.items():
        prefix = f"{dirs[i]}/"

        def origin(text: object, i: int = i, prefix: str = prefix) -> str | None:
            path = origin_path(text, "")
            if path is not None and path.startswith(prefix):
                return path[len(prefix):]
            if path is not None or (isinstance(text, str) and "path:" in text):
                escaped.add(i)  # a file outside the member's own tree (or the batch's)
            return None

        share = sum(len(t.encode()) for t in texts[i])
        if share * 2 > limits.max_bytes:
            lone.append(i)
            continue
        out[i] = rendered(member, texts[i], origin)
    done = {i: out[i] for i in ready if i in out}
    for i in sorted(escaped | _suspects(done, jobs)):
        out.pop(i, None)
        lone.append(i)
    return None


def _suspects(done: Mapping[int, Rendered], jobs: Sequence[Job]) -> set[int]:
    """The members whose rendered objects or closure files name, as a whole word, an object
    of another member that may have had an earlier name (`renames`): a name reference
    kustomize may have resolved to the other member's object (module docstring)."""
    owners: dict[str, set[int]] = {}
    for i, member in done.items():
        if not renames(jobs[i][1]):
            continue  # no object of it has an earlier name: none is any reference's referral
        for doc in member.documents:
            name = _name(doc.text)
            if name:
                owners.setdefault(name, set()).add(i)
    if len(done) < 2 or not owners:
        return set()
    words = re.compile(r"(?<![\w.:-])(" + "|".join(
        re.escape(n) for n in sorted(owners, key=len, reverse=True)) + r")(?![\w.:-])")
    out: set[int] = set()
    for i, rendered_i in done.items():
        texts = [d.text for d in rendered_i.documents]
        texts.extend(raw.decode("utf-8", "replace") for raw in jobs[i][1].values())
        for text in texts:
            if any(owners[m.group(1)] - {i} for m in words.finditer(text)):
                out.add(i)
                break
    return out


#: What gives an object an earlier name or namespace, which kustomize's name references
#: match (`Resource.StorePreviousId`: the namespace, prefix, suffix and hash-suffix
#: transformers, patches), and the annotation that records it.
RENAMING_KEYS = frozenset({"namespace", "namePrefix", "nameSuffix", "configMapGenerator",
                           "secretGenerator", "patches", "patchesJson6902",
                           "patchesStrategicMerge", "replacements"})


def renames(files: Mapping[str, bytes]) -> bool:
    """Whether a kustomization of the closure `files` may give an object an earlier name
    (`RENAMING_KEYS`), or a file writes kustomize's own build annotations."""
    for path, raw in files.items():
        if b"internal.config.kubernetes.io" in raw:
            return True
        doc = load_kustomization(raw) if is_kustomization(path) else None
        if doc is not None and RENAMING_KEYS.intersection(doc):
            return True
    return False


def _name(text: str) -> str | None:
    try:
        doc = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError:
        return None
    meta = doc.get("metadata") if isinstance(doc, dict) else None
    name = meta.get("name") if isinstance(meta, dict) else None
    return name if isinstance(name, str) else None


def _expected_ids(root: str, files: Mapping[str, bytes]) -> set[tuple[str, str, str]]:
    """The (kind, name, namespace) ids the kustomization is expected to render: the objects
    of its closure's YAML files with its own `namePrefix`, `nameSuffix` and `namespace`, and
    its generators' names. A guess for `plan` only: a wrong one costs a failed build."""
    kpath = kustomization_path(root, files)
    top = (load_kustomization(files[kpath]) if kpath is not None else None) or {}
    prefix, suffix, space = (str(top.get(k) or "") for k in ("namePrefix", "nameSuffix",
                                                             "namespace"))
    out: set[tuple[str, str, str]] = set()
    for key, kind in (("configMapGenerator", "ConfigMap"), ("secretGenerator", "Secret")):
        gens = top.get(key)
        for gen in gens if isinstance(gens, list) else []:
            if isinstance(gen, dict):
                out.add((kind, f"{prefix}{gen.get('name')}{suffix}", space or "default"))
    for path, raw in files.items():
        if is_kustomization(path) or not path.endswith((".yaml", ".yml", ".json")):
            continue
        try:
            docs = list(yaml.load_all(raw, Loader=_LOADER))
        except (yaml.YAMLError, ValueError, RecursionError):
            continue
        for doc in docs:
            meta = doc.get("metadata") if isinstance(doc, dict) else None
            if isinstance(meta, dict) and meta.get("name"):
                out.add((str(doc.get("kind")), f"{prefix}{meta['name']}{suffix}",
                         space or str(meta.get("namespace") or "default")))
    return out


def _size(files: Mapping[str, bytes]) -> int:
    return sum(len(b) for b in files.values())


def _quoted(path: str) -> str:
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _materialise(tree: Path, files: Mapping[str, bytes]) -> Path:
    for path, raw in files.items():
        target = tree / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(raw)
    tree.mkdir(parents=True, exist_ok=True)
    return tree
