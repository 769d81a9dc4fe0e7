"""kustomize patches and resource files as sources: which patch changed a rendered object, and
the lines of an object's keys in the file that wrote them.

kustomize's `alpha.config.kubernetes.io/transformations` annotation names only the
kustomization a patch is configured in (`configuredIn: kustomization.yaml`, measured with
kustomize v5.5.0), once per patch of that kustomization whether or not it applied, so the patch
that set a value is found here from the patches' targets instead. A patch is a strategic-merge
patch (a partial object; its target is its own kind and name unless `target:` says otherwise)
or a JSON 6902 patch (a list of operations on a `target:`), in a file or inline in the
kustomization. Sources: https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/patches/
and https://datatracker.ietf.org/doc/html/rfc6902
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from checker.safeyaml.nodes import key_paths

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: Field names that carry what an identity may do, whom it binds or which account a pod runs
#: as: a patch that sets one of them, at any depth, is where a finding on the rendered object
#: lands. Sources: https://kubernetes.io/docs/reference/access-authn-authz/rbac/ and
#: https://kubernetes.io/docs/concepts/security/service-accounts/
PRIVILEGE_KEYS = frozenset({"rules", "roleRef", "subjects", "aggregationRule", "secrets",
                            "serviceAccountName", "serviceAccount", "serviceAccountToken",
                            "automountServiceAccountToken", "imagePullSecrets"})


@dataclass(frozen=True)
class Patch:
    """One patch: the file that holds it (`path`, repository-relative; the kustomization for
    an inline patch), the line it starts on, the kind and name (a regular expression, as in a
    `target:`) it applies to (None: any), and the top-level keys it sets with their lines."""

    path: str
    line: int
    kind: str | None
    name: str | None
    keys: tuple[tuple[str, int], ...]
    #: True when it sets a field of `PRIVILEGE_KEYS`.
    privileged: bool = False


def _compose_all(raw: bytes | str) -> list[Node]:
    try:
        return [n for n in yaml.compose_all(raw, Loader=_LOADER) if n is not None]
    except (yaml.YAMLError, ValueError, RecursionError):
        return []


def _get(node: Node | None, key: str) -> Node | None:
    if not isinstance(node, MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, ScalarNode) and k.value == key:
            return v if isinstance(v, Node) else None
    return None


def _text(node: Node | None) -> str | None:
    return str(node.value) if isinstance(node, ScalarNode) else None


def _top_keys(node: MappingNode, offset: int) -> tuple[tuple[str, int], ...]:
    """Every key path of an object or strategic-merge patch (`roleRef.name`) with its line."""
    return tuple((k, line) for k, line in key_paths(node, offset).items()
                 if k not in ("apiVersion", "kind"))


def _names(node: Node | None, depth: int = 0) -> Iterator[str]:
    """Every mapping key under `node` (bounded depth)."""
    if depth > 40:
        return
    if isinstance(node, MappingNode):
        for k, v in node.value:
            if isinstance(k, ScalarNode):
                yield str(k.value)
            yield from _names(v, depth + 1)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            yield from _names(item, depth + 1)


def _ops_privileged(node: SequenceNode) -> bool:
    for op in node.value:
        path = _text(_get(op, "path")) or ""
        if PRIVILEGE_KEYS.intersection(path.split("/")) or PRIVILEGE_KEYS.intersection(
                _names(_get(op, "value"))):
            return True
    return False


def _ops_keys(node: SequenceNode, offset: int) -> tuple[tuple[str, int], ...]:
    """The key paths a JSON 6902 patch writes (`/rules/-` -> `rules`, `/rules/0/verbs` ->
    `rules.[0].verbs`, and each parent) with the line of the first operation on each."""
    out: dict[str, int] = {}
    for op in node.value:
        parts = [p.replace("~1", "/").replace("~0", "~")
                 for p in (_text(_get(op, "path")) or "").strip("/").split("/") if p]
        if parts and parts[-1] == "-":
            parts.pop()
        segments = [f"[{p}]" if p.isdigit() else p for p in parts]
        for end in range(len(segments), 0, -1):
            out.setdefault(".".join(segments[:end]), op.start_mark.line + 1 + offset)
    return tuple(out.items())


def _patches_in(text: bytes | str, path: str, offset: int, target: Node | None
                ) -> Iterator[Patch]:  # fmt: skip
    """The patches in one patch text (a file, or an inline value starting at line
    `offset + 1` of `path`)."""
    kind = _text(_get(target, "kind"))
    name = _text(_get(target, "name"))
    for doc in _compose_all(text):
        if isinstance(doc, SequenceNode):
            yield Patch(path, doc.start_mark.line + 1 + offset, kind, name,
                        _ops_keys(doc, offset), _ops_privileged(doc))
        elif isinstance(doc, MappingNode):
            own_kind = kind or _text(_get(doc, "kind"))
            own_name = name or _text(_get(_get(doc, "metadata"), "name"))
            yield Patch(path, doc.start_mark.line + 1 + offset, own_kind,
                        re.escape(own_name) if own_name and not name else own_name,
                        _top_keys(doc, offset), bool(PRIVILEGE_KEYS.intersection(_names(doc))))


def _inline_offset(node: ScalarNode) -> int:
    """Lines before an inline patch's text: a block scalar (`|`, `>`) starts on the next line."""
    return node.start_mark.line + (1 if node.style in ("|", ">") else 0)


def patches_of(kpath: str, doc: dict[str, object], raw: bytes,
               read: Callable[[str], bytes | None]) -> list[Patch]:
    """The patches of the kustomization file `kpath` (parsed `doc`, bytes `raw`), in the
    order kustomize applies them (`patchesStrategicMerge`, `patchesJson6902`, `patches`);
    patch files are read with `read` (repository paths)."""
    directory = kpath.rpartition("/")[0]
    nodes = _compose_all(raw)
    top = nodes[0] if nodes else None
    out: list[Patch] = []

    def resolved(ref: str) -> str:
        return posixpath.normpath(posixpath.join(directory, ref)) if directory else (
            posixpath.normpath(ref))

    for key in ("patchesStrategicMerge", "patchesJson6902", "patches"):
        entries = _get(top, key)
        if not isinstance(entries, SequenceNode):
            continue
        for entry in entries.value:
            if isinstance(entry, ScalarNode):  # patchesStrategicMerge: a path or inline YAML
                if "\n" in entry.value or ":" in entry.value:
                    out.extend(_patches_in(entry.value, kpath, _inline_offset(entry), None))
                else:
                    text = read(resolved(entry.value))
                    if text is not None:
                        out.extend(_patches_in(text, resolved(entry.value), 0, None))
                continue
            target = _get(entry, "target")
            inline = _get(entry, "patch")
            ref = _text(_get(entry, "path"))
            if isinstance(inline, ScalarNode):
                out.extend(_patches_in(inline.value, kpath, _inline_offset(inline), target))
            elif ref is not None:
                text = read(resolved(ref))
                if text is not None:
                    out.extend(_patches_in(text, resolved(ref), 0, target))
    return out


def _matches(pattern: str | None, name: str) -> bool:
    if pattern is None:
        return True
    try:
        if re.fullmatch(pattern, name):
            return True
    except re.error:
        pass
    plain = pattern.replace("\\", "")
    return name.endswith(plain) or name.startswith(plain)  # a namePrefix / nameSuffix


def source_of(kind: str, name: str, patches: list[Patch]) -> Patch | None:
    """The patch where a finding on the rendered object `kind`/`name` lands: the last patch
    aimed at it that sets a privilege-bearing field (`PRIVILEGE_KEYS`), else None (the
    object's resource file is its source)."""
    found: Patch | None = None
    for patch in patches:
        if patch.privileged and patch.kind in (None, kind) and _matches(patch.name, name):
            found = patch
    return found


@functools.lru_cache(maxsize=256)  # the files of every kustomization a change renders
def _objects(raw: bytes) -> tuple[tuple[str, str, MappingNode], ...]:
    """(kind, name, node) of each object in the YAML file `raw`, composed once per content."""
    out: list[tuple[str, str, MappingNode]] = []
    for doc in _compose_all(raw):
        if isinstance(doc, MappingNode):
            out.append((_text(_get(doc, "kind")) or "",
                        _text(_get(_get(doc, "metadata"), "name")) or "", doc))
    return tuple(out)


def _object_node(raw: bytes, kind: str, name: str) -> MappingNode | None:
    """The object `kind`/`name` in `raw`; else one whose name kustomize prefixed or suffixed;
    else the file's only object of that kind (a patch renamed it)."""
    fallback: MappingNode | None = None
    same_kind = [(own, doc) for own_kind, own, doc in _objects(raw) if own_kind == kind]
    for own, doc in same_kind:
        if own == name:
            return doc
        if own and (name.endswith(own) or name.startswith(own)) and fallback is None:
            fallback = doc
    if fallback is None and len(same_kind) == 1:
        return same_kind[0][1]
    return fallback


def object_line(raw: bytes, kind: str, name: str) -> int:
    """The 1-based line where the object `kind`/`name` starts in the YAML file `raw` (found as
    `_object_node` finds it); 1 when it is not found."""
    doc = _object_node(raw, kind, name)
    return doc.start_mark.line + 1 if doc is not None else 1


def object_keys(raw: bytes, kind: str, name: str) -> tuple[tuple[str, int], ...]:
    """The key paths of the object `kind`/`name` in `raw` with their 1-based lines."""
    doc = _object_node(raw, kind, name)
    return _top_keys(doc, 0) if doc is not None else ()
