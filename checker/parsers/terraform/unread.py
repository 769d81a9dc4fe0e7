"""What Terraform runs or fetches that nhi-gate cannot read, as facets for NHI106.

Three constructs change access without a block nhi-gate can compute, so each becomes a facet
(`IdentityObject` with `derived_from` set and `type` starting with `model.UNREAD`): it is judged
by NHI106 alone (`checker.checks.unread`), compared base to head like an identity (`digest`:
a `terraform fmt` or a move is no change) and never listed by `inventory`.

- `provisioner_facets`: each `provisioner "local-exec"`/`"remote-exec"` of any resource
  (`null_resource`, `terraform_data`, ...), and `external_facet`: a `data "external"` program.
  Terraform runs the command with its own credentials
  (https://developer.hashicorp.com/terraform/language/resources/provisioners/local-exec,
  .../provisioners/remote-exec,
  https://registry.terraform.io/providers/hashicorp/external/latest/docs/data-sources/external);
  what it grants is not computed. One `Unresolved` per argument (`command`, `inline`,
  `program`, `environment`, ...): `expression` a digest of its value, then the grant verbs
  found in it (`checker.parsers.grant_verbs`), `reason` `<type> command run by Terraform
  (<program>)`.
- `remote_module_facet`: a `module` call whose `source` is not a local path (registry, git,
  URL: https://developer.hashicorp.com/terraform/language/modules/sources), or a local path
  that leaves the repository (`../platform-modules/role` from the root), and that no builder
  reads: its code is not in the repository, so any argument may grant. One entry per argument
  (`source` and `version` included), `expression` a digest of its value (a change of value is
  a new entry), `reason` `remote module <source> not read` plus `unpinned` when neither a
  `?ref=` of 40 hex digits nor an exact `version` fixes the code.
- `var_file_facet`: a `.tfvars`/`.tfvars.json` file in a directory where no module is (so
  nhi-gate cannot know which module reads it): one entry per variable, as above, `reason`
  `var file read by no module nhi-gate knows`.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from checker.lazy_patterns import lazy_compile
from checker.model import UNREAD, IdentityObject, Location, ModuleSources, Unresolved
from checker.parsers.common import file_reference
from checker.parsers.grant_verbs import grant_verbs
from checker.parsers.terraform.nodes import META, Block, Doc, Node, as_list
from checker.parsers.terraform.resolver import Resolver
from checker.parsers.terraform.values import Inputs, has_expression

_PROVISIONERS = ("local-exec", "remote-exec")
#: The arguments holding what a provisioner or `external` data source runs.
_COMMAND_ARGS = ("command", "interpreter", "inline", "script", "scripts", "program")
_PINNED_REF = lazy_compile(r"[?&]ref=[0-9a-fA-F]{40}(?:&|$)")
_EXACT_VERSION = lazy_compile(r"^\s*=?\s*v?\d+\.\d+\.\d+(?:[-+][\w.]+)?\s*$")
_PROGRAM = lazy_compile(r"[\w./-]+")
_MODULE_PATH = lazy_compile(r"\$\{\s*path\.(?:module|root|cwd)\s*\}/[\w./-]+")
#: A script named relative to the module in a command's word (`scripts/grant.py`, `./x.sh`).
_SCRIPT_WORD = lazy_compile(r"(?<![^\s])[\w./-]*\w\.(?:sh|bash|ps1|cmd|bat|py)(?!\S)")


def provisioner_facets(block: Block, address: str,
                       module: ModuleSources | None = None) -> Iterator[IdentityObject]:
    """One facet per `local-exec`/`remote-exec` provisioner of resource `block` (see the module
    doc); `address` is the resource's (`terraform_data.attach`); the facet's is
    `<address>.provisioner.<type>` (then `[1]`, `[2]` for more of one type). `module` gives
    the values its arguments read (`_resolved`)."""
    node = block.node
    seen: dict[str, int] = {}
    for i, item in enumerate(as_list(node.body.get("provisioner"))):
        if not isinstance(item, dict):
            continue
        for label, body in item.items():
            if label not in _PROVISIONERS or not isinstance(body, dict):
                continue
            inner = _inner(node, body, ("provisioner", i, label))
            n = seen.get(label, 0)
            seen[label] = n + 1
            name = f"{address}.provisioner.{label}" + (f"[{n}]" if n else "")
            yield _command_facet(inner, f"{UNREAD}provisioner", name, label, module, address)


def external_facet(block: Block, module: ModuleSources | None = None) -> IdentityObject:
    """The facet of a `data "external"` block: the program it runs."""
    return _command_facet(block.node, f"{UNREAD}external", f"data.external.{block.labels[1]}",
                          "external", module)


def remote_module_facet(block: Block, module: ModuleSources | None = None,
                        directory: str = "") -> IdentityObject | None:  # fmt: skip
    """The facet of a `module` call whose `source` is remote, or local (`./`, `../`) but
    outside the repository from the calling module's `directory` (`../platform/role` from the
    root: its code is not in the repository either; see the module doc), or local inside a
    module read as called (`module.caller`) that `callees.callee_identities` did not follow;
    None for another local `source` inside the repository or a missing one. Each argument's
    value is its resolved value (`_resolved`: `admin = var.admin` means what the tfvars or
    default say)."""
    node = block.node
    source = node.body.get("source")
    if not isinstance(source, str) or not source:
        return None
    if source.startswith(("./", "../")):
        nested = module is not None and module.caller and not _leaves_repository(directory,
                                                                                  source)
        if not nested and not _leaves_repository(directory, source):
            return None
        reason = (f"local module {_shown(source)} called from {module.caller} not followed "
                  "(nested too deep, or its files not read)" if nested and module is not None
                  else f"local module {_shown(source)} outside the repository, not read")
    else:
        version = node.body.get("version")
        pinned = bool(_PINNED_REF.search(source)) or (
            isinstance(version, str) and bool(_EXACT_VERSION.match(version)))
        reason = f"remote module {_shown(source)} not read" + ("" if pinned else ", unpinned")
    resolver = Resolver(module)
    entries = [Unresolved(name, _digest(_resolved(node, name, resolver)), reason, node.line(name))
               for name, value in node.body.items() if name not in META]
    return _facet(node, f"{UNREAD}module", f"module.{block.labels[0]}", entries, "generic",
                  inputs=resolver.inputs())


def _leaves_repository(directory: str, source: str) -> bool:
    """True when the local module path `source`, from the module in `directory` (`""`: the
    root), names a folder outside the repository (`..` past its root)."""
    joined = posixpath.normpath(posixpath.join(directory or ".", source.strip()))
    return "${" not in source and (joined == ".." or joined.startswith("../"))


def var_file_facet(path: str, values: Sequence[tuple[str, Any, int]]) -> IdentityObject:
    """The facet of var file `path` that no module reads: one entry per (name, value, line)."""
    reason = "var file read by no module nhi-gate knows"
    entries = [Unresolved(name, _digest(value), reason, line) for name, value, line in values]
    last = max((line for _, _, line in values), default=1)
    doc = Doc(path=path, lines=[], spans=None)
    node = Node(body={}, start=1, end=last, attrs={}, doc=doc)
    return _facet(node, f"{UNREAD}var-file", path, entries, "generic")


def _inner(node: Node, body: Mapping[str, Any], json_path: tuple[str | int, ...]) -> Node:
    """A provisioner body as a `Node` (HCL: its own line markers; JSON: its value span)."""
    if node.doc.spans is None:
        start = body.get("__start_line__")
        end = body.get("__end_line__")
        s = start if isinstance(start, int) else node.start
        return node.doc.node(body, (), s, end if isinstance(end, int) else s)
    return node.doc.json_node(body, (*node.path, *json_path))


def _command_facet(node: Node, type_: str, address: str, what: str,
                   module: ModuleSources | None, derived: str = "") -> IdentityObject:
    """A facet for every argument of `node` (the command, and `environment`, `working_dir`,
    `query`, ...: they change what it does), each by its resolved value (`_resolved`); the
    program is the first word of the first command argument (`_COMMAND_ARGS`)."""
    resolver = Resolver(module)
    values = {name: _resolved(node, name, resolver) for name in node.body if name not in META}
    words = [w for name in _COMMAND_ARGS for w in _PROGRAM.findall(re.sub(
        r"\$\{\s*path\.\w+\s*\}", ".", " ".join(_texts(values.get(name)))))]
    reason = f"{what} command run by Terraform ({_shown(words[0] if words else '?')})"
    entries: list[Unresolved] = []
    platforms: list[str] = []
    inputs = list(resolver.inputs())
    bodies: dict[str, list[str]] = {}
    for name, value in list(values.items()):
        scripts = _scripts(_texts(value), module)
        inputs += [(f'script("{where.path}")', where) for _, where, _ in scripts]
        bodies[name] = [body for body, _, _ in scripts]
        if scripts:  # what it runs is the script's bytes too
            values[name] = {"value": value, "scripts": [(w.path, d) for _, w, d in scripts]}
    for name, value in values.items():
        verbs = grant_verbs(" ".join([*_texts(value), *map(_argv_words, bodies[name])]))
        platforms += [p for p, _ in verbs]
        shown = ", ".join(dict.fromkeys(v for _, v in verbs))
        entries.append(Unresolved(name, f"{_digest(value)} {shown}".strip(), reason,
                                  node.line(name)))
    return _facet(node, type_, address, entries, platforms[0] if platforms else "generic",
                  derived, tuple(dict.fromkeys(inputs)))


def _scripts(texts: Sequence[str], module: ModuleSources | None
             ) -> list[tuple[str, Location, str]]:  # fmt: skip
    """(text, whole-file location, digest) of each file of `module` that `texts` name by a
    `${path.module}/...` path or a script path relative to the module (`scripts/grant.py`: a
    script the command runs, `checker.parsers.common.SCRIPT_PATH` makes the sources read it);
    a file not read is left out (the command's text still counts)."""
    if module is None:
        return []
    found: list[tuple[str, Location, str]] = []
    seen: set[str] = set()
    for text in texts:
        named = [m.group(0) for m in _MODULE_PATH.finditer(text)]
        named += [m.group(0) for m in _SCRIPT_WORD.finditer(_MODULE_PATH.sub(" ", text))]
        for word in named:
            path = file_reference(module.directory, word)
            src = next((f for f in module.files if f.path == path), None)
            if src is None or src.path in seen:
                continue
            seen.add(src.path)
            body = src.raw.decode("utf-8", "replace")
            lines = max(body.count("\n") + (0 if body.endswith("\n") else 1), 1)
            digest = "sha256:" + hashlib.sha256(src.raw).hexdigest()[:12]
            found.append((body, Location(src.path, 1, lines), digest))
    return found


def _argv_words(body: str) -> str:
    """A script's text with argument lists read as words (`["aws", "iam", "create-user"]` in a
    Python `subprocess` call reads `aws iam create-user`), for `grant_verbs`."""
    return re.sub(r"""["']\s*,\s*["']""", " ", body)


def _resolved(node: Node, name: str, resolver: Resolver) -> Any:
    """Argument `name`'s value with its `local.*`/`var.*` values substituted (`Resolver`, from
    its source text), so a change of a value it reads (a tfvars value, a variable default, a
    local in any file) is a change of the argument; what stays unresolved is kept as written,
    marked `{"unresolved": <text>}` (a change of its text is still a change)."""
    value = node.body.get(name)
    got = resolver.resolve(value, node.text(name))
    return {"unresolved": got} if has_expression(got) else got


def _facet(node: Node, type_: str, address: str, entries: Sequence[Unresolved],
           platform: str, derived: str = "", inputs: Inputs = ()) -> IdentityObject:
    """The facet: `derived_from` is the resource a provisioner belongs to, else the file,
    never the facet's own address (that marks a workload facet: `checks/workloads.py`);
    `inputs` the module values its arguments read (a change of one touches the facet)."""
    obj = IdentityObject(
        kind="role_binding", platform=platform, type=type_, address=address,
        location=Location(node.doc.path, node.start, node.end),
        attribute_lines={u.attribute: u.line or node.start for u in entries},
        derived_from=derived or node.doc.path, unresolved=tuple(entries), inputs=inputs)
    return _with_digest(obj, [tuple(u[:3]) for u in entries])


def _with_digest(obj: IdentityObject, payload: Any) -> IdentityObject:
    text = json.dumps(payload, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    return replace(obj, digest=digest, frame_digest=digest, untagged_digest=digest)


def _texts(value: Any) -> list[str]:
    """Every string (and scalar) at any depth of `value`, in order."""
    if isinstance(value, dict):
        return [t for k, v in value.items() if k not in META for t in _texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return [] if value is None else [str(value)]


def _digest(value: Any) -> str:
    """A short digest of a value (never the value: it may be a secret)."""
    text = json.dumps(value, sort_keys=True, default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _shown(text: str) -> str:
    """`text` without credentials in a URL (`https://user:token@host`), at most 100 chars."""
    clean = re.sub(r"(//)[^/@\s]+@", r"\1", text)
    return clean if len(clean) <= 100 else clean[:96] + "..."
