"""`kubernetes_manifest` (hashicorp/kubernetes) -> the identity of the Kubernetes object it holds.

The resource applies any Kubernetes object given as its `manifest`: an HCL object
(`manifest = { apiVersion = ..., kind = "ClusterRoleBinding", roleRef = {...} }`), or
`yamldecode(<<EOT ... EOT)` of literal YAML. Source:
https://registry.terraform.io/providers/hashicorp/kubernetes/latest/docs/resources/manifest

The body is judged exactly as the Kubernetes parser judges the same object in a YAML file
(`checker.parsers.kubernetes.parse`): the object is written out as JSON (a YAML document) and
parsed there, so a ClusterRoleBinding to `cluster-admin`, a ClusterRole with `*` verbs, a
ServiceAccount or a Secret get the same `kind`, `type` (the Kubernetes kind, so the Kubernetes
checks apply), privileges, references and principals. Only the positions change: `address` is
`kubernetes_manifest.<name>`, `location` the Terraform block, and every line (grants,
`attribute_lines`) is the line in the block that writes the same key (`_line_map`). A manifest
that is neither a literal object nor literal YAML (`yamldecode(file(...))`, a variable) or whose
kind is not catalogued gives no identity here.

`kubernetes_labels` and `kubernetes_annotations` apply labels or annotations to an object defined
elsewhere: read as that object with only those keys (`object_edits`);
`kubernetes_default_service_account(_v1)` as the namespace's `default` ServiceAccount.

`kubernetes_config_map`, `kubernetes_config_map_v1` and `kubernetes_config_map_v1_data` are
read the same way, as the ConfigMap their `metadata` block and `data` map write: only the EKS
`kube-system/aws-auth` one is an identity (`checker.parsers.kubernetes.aws_auth`). A `data`
value is a literal YAML text (a heredoc) or `yamlencode(<expression>)` computed from the
module's values; one that does not compute is an `Unresolved` entry (NHI106), its mapping read
as empty. A grant's line is the first block line naming its principal ARN, else the key's line.
Sources: https://registry.terraform.io/providers/hashicorp/kubernetes/latest/docs/resources/config_map_v1_data,
https://docs.aws.amazon.com/eks/latest/userguide/auth-configmap.html
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

from checker.lazy_patterns import lazy_compile
from checker.model import IdentityObject, Location, ModuleSources, SourceFile, Unresolved
from checker.parsers import common
from checker.parsers import kubernetes as k8s
from checker.parsers.terraform.digest import block_digest
from checker.parsers.terraform.expressions import EvalError
from checker.parsers.terraform.expressions import Unresolved as NotComputed
from checker.parsers.terraform.nodes import META, Block, Doc, Node, without_markers
from checker.parsers.terraform.object_edits import (
    DEFAULT_ACCOUNTS,
    EDIT_TYPES,
    default_account,
    edited_facts,
    edited_object,
)
from checker.parsers.terraform.resolver import Resolver, resolving
from checker.policy.catalogue import Catalogue

#: `yamldecode("<literal YAML>")` as python-hcl2 writes a heredoc argument.
_YAMLDECODE = lazy_compile(r'\$\{yamldecode\("(.*)"\)\}', re.DOTALL)
#: The key a line of the JSON or YAML text writes (`"roleRef": {`, `  - kind: User`).
_KEY = lazy_compile(r'^\s*(?:-\s+)?"?([^"\s:][^":]*?)"?\s*:(?:\s|$)')
#: Resource types applying one Kubernetes object: the manifest, or a ConfigMap (`aws-auth`).
CONFIG_MAPS = frozenset({"kubernetes_config_map", "kubernetes_config_map_v1",
                         "kubernetes_config_map_v1_data"})
MANIFEST_TYPES = frozenset({"kubernetes_manifest", *CONFIG_MAPS, *EDIT_TYPES,
                            *DEFAULT_ACCOUNTS})
#: `yamlencode(<expression>)` as python-hcl2 writes it.
_YAMLENCODE = lazy_compile(r"\$\{yamlencode\((.*)\)\}", re.DOTALL)


def manifest_identity(block: Block, doc: Doc, catalogue: Catalogue, address: str,
                      module: ModuleSources | None = None) -> IdentityObject | None:
    """The `IdentityObject` of the Kubernetes object a `kubernetes_manifest` block applies,
    judged as `checker.parsers.kubernetes` judges it (see the module docstring), or None when
    the manifest is not literal or its kind is not catalogued. Never raises on bad input."""
    node = block.node
    resolver = Resolver(module)
    unknown: list[Unresolved] = []
    rtype = block.labels[0]
    if rtype in CONFIG_MAPS:
        value: object = _config_map(node, resolver, unknown)
    elif rtype in DEFAULT_ACCOUNTS:
        value = default_account(resolving(node, resolver if module is not None else None))
    elif rtype in EDIT_TYPES:
        value = edited_object(rtype, resolving(node, resolver if module is not None else None))
    else:
        value = resolving(node, resolver if module is not None else None).get("manifest")
    text = _manifest_text(value)
    if text is None:
        return None
    parsed = k8s.parse(SourceFile(doc.path, text.encode("utf-8")), catalogue)
    if len(parsed.objects) != 1:
        return None
    obj = parsed.objects[0]
    lines = _line_map(text.split("\n"), doc.lines, node.start, node.end)

    def at(line: int | None) -> int | None:
        return lines.get(line, node.start) if line is not None else None

    metadata = common.comment_metadata(doc.lines, node.start) if doc.spans is None else {}
    metadata.update(obj.metadata)
    judged = replace(
        obj,
        address=address,
        location=Location(doc.path, node.start, node.end),
        metadata=metadata,
        attribute_lines={k: at(v) or node.start for k, v in obj.attribute_lines.items()},
        privileges=tuple(replace(g, line=_named_at(doc.lines, node, g.resource) or at(g.line))
                         for g in obj.privileges),
        inputs=resolver.inputs(),
        unresolved=tuple(unknown),
        digest=block_digest(block, module),
        derived_from=address if obj.derived_from else obj.derived_from,
    )
    if rtype in EDIT_TYPES and isinstance(value, dict):  # what the edit does not set
        return edited_facts(rtype, judged, value["metadata"]["name"],
                            node.line("labels") or node.start)
    return judged


def _manifest_text(value: object) -> str | None:
    """The manifest as YAML text: a literal object as JSON, `yamldecode("...")` as its YAML.
    None when it holds an expression the parser cannot read (`${...}` around the whole)."""
    if isinstance(value, dict):
        return json.dumps(without_markers(value), indent=2)
    if isinstance(value, str):
        m = _YAMLDECODE.fullmatch(value.strip())
        if m and "${" not in m.group(1):
            return m.group(1).replace('\\"', '"')
    return None


def _config_map(node: Node, resolver: Resolver, unknown: list[Unresolved]
                ) -> dict[str, object] | None:  # fmt: skip
    """The ConfigMap a `kubernetes_config_map*` block writes, when it is `aws-auth` (else None):
    `metadata` name and namespace as written, each `data` value as YAML text."""
    meta = node.blocks("metadata")
    if not meta or meta[0].get("name") != "aws-auth":
        return None
    data = node.get("data")
    values: dict[str, str] = {}
    for key, raw in (data.items() if isinstance(data, dict) else ()):
        if key in META or not isinstance(raw, str):
            continue
        m = _YAMLENCODE.fullmatch(raw.strip())
        try:
            if m is not None:
                got, used = resolver.evaluate(m.group(1), None)
                resolver.record(used)
                values[key] = json.dumps(got)
            elif "${" in raw or "%{" in raw:
                raise NotComputed("not a literal YAML text")
            else:
                values[key] = raw
        except (NotComputed, EvalError, RecursionError) as exc:
            reason = f"not computed ({exc})" if str(exc) else "not computed"
            unknown.append(Unresolved(f"data.{key}", raw.strip()[:200], reason,
                                      node.line("data")))
    return {"apiVersion": "v1", "kind": "ConfigMap", "data": values,
            "metadata": {"name": "aws-auth", "namespace": meta[0].get("namespace") or "default"}}


def _named_at(lines: list[str], node: Node, text: str) -> int | None:
    """The first line of the block `node` holding `text` (a principal ARN), else None."""
    if len(text) < 3:
        return None
    for number in range(node.start, min(node.end, len(lines)) + 1):
        if text in lines[number - 1]:
            return number
    return None



def _line_map(text: list[str], source: list[str], start: int, end: int) -> dict[int, int]:
    """Line of `text` (1-based) -> the line of the block `source[start..end]` writing the same
    key. Keys are matched in order (both keep the manifest's key order), so a repeated key
    (`name` under `metadata`, then under `roleRef`) maps to its own line; a line whose key is
    not found, or that has none, maps to the last line matched (the block start at first)."""
    out: dict[int, int] = {}
    cursor = start
    for number, line in enumerate(text, 1):
        m = _KEY.match(line)
        if m:
            pattern = re.compile(r'(?:^|[\s{,\-])"?' + re.escape(m.group(1)) + r'"?\s*[=:]')
            for candidate in range(cursor, end + 1):
                if candidate <= len(source) and pattern.search(source[candidate - 1]):
                    cursor = candidate
                    break
        out[number] = cursor
    return out
