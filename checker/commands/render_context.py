"""What a chart's offline render cannot show of a change (`checker.sources.render.helm_context`):
the conditions a changed template adds on the release, the cluster, the clock or chance
(`context_problems`), and a changed values file that changes the data a template selects by a
release field (`selection_problems`: `index .Values.roleByNamespace .Release.Namespace`). Each
is an NHI107 problem; its author decides the level. For `commands.render_sources`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace

from yaml.nodes import Node

from checker.commands.render_disk import UNRENDERED
from checker.model import ParseProblem
from checker.safeyaml import YValue, get_path, key_line, load_text, to_python
from checker.sources.render.api import Rendered
from checker.sources.render.helm_context import (
    UNKNOWN_VALUES,
    ContextCondition,
    added_conditions,
    context_conditions,
    guarded_reads,
)
from checker.sources.render.helm_ignore import renders_nothing

#: path -> contents at one revision, of those present.
Reader = Callable[[Sequence[str]], Mapping[str, bytes]]
#: Chart files that are no values file, although YAML or JSON.
_NOT_VALUES = frozenset({"Chart.yaml", "Chart.lock", "values.schema.json", "requirements.yaml",
                         "requirements.lock"})
_OFFLINE = ("an offline render cannot know (it renders a first install of `release-name` in "
            "`default`, no cluster objects, helm's default capabilities)")


def context_problems(head: Reader, base: Reader | None, templates: Sequence[str]
                     ) -> list[ParseProblem]:  # fmt: skip
    """An NHI107 problem for each condition a changed chart template adds (`templates`, read
    at `head` and `base`) that branches on what the offline render cannot know (`lookup`,
    `.Capabilities`, `.Release.*`; a `range` over `lookup`), selects data by a release field
    (`index`, `eq`, ...), or branches on the clock or chance (`now`, `randInt`:
    `render.helm_context`), at its line. The message names the construct, never a value."""
    if not templates:
        return []
    now = head(templates)
    before = base(list(now)) if base else {}
    out = []
    for path, raw in sorted(now.items()):
        old = before.get(path)
        for found in added_conditions(raw.decode("utf-8", "replace"),
                                      old.decode("utf-8", "replace") if old else None):
            out.append(ParseProblem(path, UNRENDERED, _message(path, found), found.line))
    return out


def _message(path: str, found: ContextCondition) -> str:
    """Why the condition `found` of the template `path` leaves part of the chart unjudged."""
    names = ", ".join(f"`{c}`" for c in found.constructs)
    if found.selection:
        return (f"{path}: a `{found.keyword}` at line {found.line} selects or compares data by "
                f"{names}, which {_OFFLINE}: what another release or namespace gets is never "
                "judged; review every value it can pick")
    why = ("changes with the clock or at random, so each render may take another branch and "
           "this one cannot stand for the install" if found.volatile else _OFFLINE)
    return (f"{path}: a `{found.keyword}` at line {found.line} branches on {names}, which "
            f"{why}: the other branch is never judged; review what each branch deploys")


def is_values_file(path: str) -> bool:
    """Whether the chart file `path` may be a values file: YAML or JSON outside `templates/`,
    `crds/` and not the chart's metadata or schema."""
    parts = path.split("/")
    return (path.endswith((".yaml", ".yml", ".json")) and "templates" not in parts[:-1]
            and "crds" not in parts[:-1] and parts[-1] not in _NOT_VALUES)


def selection_problems(head: Reader, base: Reader | None, files: Sequence[str],
                       changed: Collection[str], rendered: Collection[str] = ()
                       ) -> list[ParseProblem]:  # fmt: skip
    """An NHI107 problem on each changed values file of a chart (its closure `files`) that
    changes a `.Values` path a template of the chart selects from by a release field
    (`ContextCondition.selection`: the render shows one entry, the install in another
    namespace or release another), or that a block guarded by a release, cluster or
    capabilities condition reads in a template that rendered nothing offline (not in
    `rendered`, the templates of the head render's objects: `helm_context.guarded_reads`),
    at the path's key line; a selection whose data is not a named `.Values` path is reached
    by any change of a values file. None without a base."""
    values = [p for p in files if p in changed and is_values_file(p)]
    if not values or base is None:
        return []
    templates = [p for p in files if "templates" in p.split("/")[:-1]]
    selections = []
    for path, raw in sorted(head(templates).items()):
        text = raw.decode("utf-8", "replace")
        selections += [(path, c) for c in context_conditions(text) if c.selection]
        selections += [(path, c) for c in guarded_reads(text) if path not in rendered]
    if not selections:
        return []
    now, before = head(values), base(values)
    out = []
    for values_path in values:
        text = now.get(values_path, b"").decode("utf-8", "replace")
        old = before.get(values_path, b"").decode("utf-8", "replace")
        for template, found in selections:
            for read in found.values:
                line = _changed_at(text, old, read, values_path)
                if line is None:
                    continue
                name = ("its data" if read == UNKNOWN_VALUES
                        else f"`.Values{'.' if read else ''}{read}`")
                names = ", ".join(f"`{c}`" for c in found.constructs)
                out.append(ParseProblem(values_path, UNRENDERED, (
                    f"{values_path}: changes {name}, which `{found.keyword}` at "
                    f"{template}:{found.line} selects from by {names}: the offline render "
                    "(release `release-name` in `default`) shows one entry; what another "
                    "release or namespace gets is never judged; review every entry"
                ) if found.selection else (
                    f"{values_path}: changes {name}, which the block of the "
                    f"`{found.keyword}` at {template}:{found.line} on {names} reads; the "
                    "offline render (a first install of `release-name` in `default`, no "
                    "cluster objects, helm's default capabilities) rendered nothing of that "
                    "template, so what the block deploys with it is never judged; review "
                    "it"), line))
                break
    return _once(out)


def _changed_at(text: str, old: str, read: str, path: str) -> int | None:
    """The line (at head; 1 when unknown) where the values `text` differ from `old` at the
    dotted `.Values` path `read` (`UNKNOWN_VALUES`: anywhere); None when they do not."""
    if text == old:
        return None
    head, base = load_text(text, path), load_text(old, path)
    root = head.documents[0] if head.documents and head.problem is None else None
    was = base.documents[0] if base.documents and base.problem is None else None
    if read == UNKNOWN_VALUES or root is None or (was is None and old.strip()):
        return 1  # a new or emptied file has no value anywhere
    keys = [k for k in read.split(".") if k]
    if _value(get_path(root, *keys)) == (_value(get_path(was, *keys)) if was else None):
        return None
    line, node = 1, root
    for key in keys:  # the deepest key head still has
        line = key_line(node, key) or line
        found = get_path(node, key)
        if found is None:
            break
        node = found
    return line


def _value(node: Node | None) -> YValue | None:
    """A values subtree as plain data (None: absent)."""
    return to_python(node) if isinstance(node, Node) else None


def _once(problems: Sequence[ParseProblem]) -> list[ParseProblem]:
    """`problems` without a repeat of the same file, line and message."""
    return list({(p.path, p.line, p.message): p for p in problems}.values())


def unread_change(chart: str, files: Sequence[str], changed: Collection[str],
                  head: Reader) -> list[str] | None:
    """The changed files of the chart whose `Chart.yaml` is `chart` (its closure `files`) when
    its render never reads any of them (`helm_ignore.renders_nothing`: a README, a LICENSE, a
    `.helmignore`d folder); None when one may change what it renders."""
    root = posixpath.dirname(chart)
    touched = [p for p in files if p in changed]
    if not touched:
        return None
    prefix = posixpath.join(root, "templates") + "/"
    texts = head([posixpath.join(root, ".helmignore"),
                  *(p for p in files if p.startswith(prefix))])
    return touched if all(renders_nothing(p, root, texts) for p in touched) else None


def unread_problem(failure: ParseProblem, unread: Sequence[str]) -> ParseProblem:
    """The NHI107 `failure` of a chart that base failed to render the same way, when the
    change touched only `unread` files its render does not read: a note (variant `unread`)
    saying so."""
    shown = ", ".join(posixpath.basename(p) for p in unread[:3])
    more = f" and {len(unread) - 3} more" if len(unread) > 3 else ""
    return replace(failure, variant="unread", message=(
        f"{failure.message}; base failed the same way, and the change touches only files "
        f"the chart's render does not read ({shown}{more}), so it cannot change what the "
        "chart deploys"))


def beside(head: Rendered, base: Rendered | None, main_head: Rendered | None,
           main_base: Rendered | None) -> tuple[Rendered, Rendered | None]:
    """An extra render of a chart (with a changed values file, or as a deploy command installs
    it: `head` and `base`) without the objects its main render (`main_head`, `main_base`)
    has the same on both sides: their findings would be the main render's, said again under
    the values file (argo-helm's `ci/listenerset-values.yaml`). Objects are matched by their
    template and their order in its output; nothing is left out when a main render is
    missing or failed."""
    if main_head is None or main_head.failure or (base is not None and (
            main_base is None or main_base.failure)):
        return head, base
    def keyed(render: Rendered | None) -> dict[tuple[str, int], str]:
        seen: dict[str, int] = {}
        out = {}
        for d in render.documents if render is not None and not render.failure else ():
            seen[d.source_path] = seen.get(d.source_path, -1) + 1
            out[(d.source_path, seen[d.source_path])] = d.text
        return out
    heads, bases = keyed(head), keyed(base)
    mh, mb = keyed(main_head), keyed(main_base)
    same = {k for k in {*heads, *bases} if heads.get(k) == mh.get(k)
            and (base is None or bases.get(k) == mb.get(k))}
    if not same:
        return head, base
    def without(render: Rendered) -> Rendered:
        seen: dict[str, int] = {}
        kept = []
        for d in render.documents:
            seen[d.source_path] = seen.get(d.source_path, -1) + 1
            if (d.source_path, seen[d.source_path]) not in same:
                kept.append(d)
        return replace(render, documents=tuple(kept))
    return without(head), without(base) if base is not None and not base.failure else base
