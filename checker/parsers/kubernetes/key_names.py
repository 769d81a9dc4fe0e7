"""Fields of secret-reference objects that hold key *names*, never secret values.

An External Secrets object (`ExternalSecret`, `ClusterExternalSecret`, `PushSecret`,
`ClusterPushSecret`, `SecretStore`, `ClusterSecretStore`) or a Secrets Store CSI
`SecretProviderClass` names the keys it reads from or writes to a vault: `spec.data[].secretKey:
db-password` is the name of a key in the target Secret, `remoteRef.key`/`property`/`version` the
path in the vault, `secretRef.name`/`key` the Secret holding the store's own credential.
`key_name_fields(text)` finds those fields by parsing the documents and reading each object's
`kind`, so the hardcoded-secret scan (`checker.secrets`) does not take a key name for a value.
A field outside these kinds, or another field of them (the `fake` provider's `value`), is not
listed: a literal there is still judged.

Sources: https://external-secrets.io/latest/api/externalsecret/,
https://external-secrets.io/latest/api/pushsecret/,
https://external-secrets.io/latest/api/secretstore/,
https://secrets-store-csi-driver.sigs.k8s.io/concepts.html#secretproviderclass
"""

from __future__ import annotations

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from checker.lazy_patterns import lazy_compile
from checker.safeyaml import get, line_of, load_text, scalar_text, sequence

#: Kinds whose spec only names keys held elsewhere.
REFERENCE_KINDS = frozenset({
    "ExternalSecret", "ClusterExternalSecret", "PushSecret", "ClusterPushSecret",
    "SecretStore", "ClusterSecretStore", "SecretProviderClass",
})
#: Field names whose scalar value is a key name or a path in a vault, in those kinds' specs.
NAME_FIELDS = frozenset({
    "secretKey", "key", "property", "version", "name", "remoteKey", "objectName",
    "objectAlias", "secretName", "secretPath", "path", "regexp", "conversionStrategy",
})
#: A line that is a whole Jinja tag (`{% raw %}` around a docs snippet): not YAML, blanked
#: (its line kept) so the rest parses.
_JINJA_LINE = lazy_compile(r"^\s*\{%-?.*-?%\}\s*$")
_WALK_DEPTH = 16


def key_name_fields(text: str, path: str) -> frozenset[tuple[int, str]]:
    """`(1-based line, field name)` of every name field (`NAME_FIELDS`) under the `spec` of a
    `REFERENCE_KINDS` object in `text` (YAML or JSON, any number of documents). Empty when no
    such kind is named or the text does not parse (then nothing is excused)."""
    if not any(kind in text for kind in REFERENCE_KINDS):
        return frozenset()
    lines = [("" if _JINJA_LINE.match(line) else line) for line in text.split("\n")]
    stream = load_text("\n".join(lines), path)
    found: set[tuple[int, str]] = set()
    for root in stream.documents:
        for doc in _objects(root):
            if scalar_text(get(doc, "kind")) in REFERENCE_KINDS:
                _walk(get(doc, "spec"), found, 0)
    return frozenset(found)


def _objects(root: Node) -> list[Node]:
    """The document, or the items of a `List` document."""
    items = get(root, "items")
    if isinstance(items, SequenceNode):
        return [root, *sequence(items)]
    return [root]


def _walk(node: Node | None, found: set[tuple[int, str]], depth: int) -> None:
    if depth > _WALK_DEPTH:
        return
    if isinstance(node, MappingNode):
        for key, value in node.value:
            name = scalar_text(key)
            if name in NAME_FIELDS and isinstance(value, ScalarNode):
                found.add((line_of(value), name))
            else:
                _walk(value, found, depth + 1)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            _walk(item, found, depth + 1)
