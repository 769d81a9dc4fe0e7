"""A cheap byte-level test that tells which files cannot define an identity, so they are not parsed.

Every identity nhi-gate finds comes from a construct named literally in the file: a Terraform
resource/data type label (`aws_iam_user`), the IAM module's `source`, a Kubernetes `kind`
(`ServiceAccount`, `ClusterRoleBinding`, `SecretList` ...), a GitHub Actions `permissions:`
block or a catalogued `uses:` action. `Tokens` holds those names, built from the catalogue (so
a new catalogue entry extends the filter without code), and `may_define_identity` is a single
regular-expression search over the raw bytes.

Soundness (an agent writes the change and may try to slip an identity past the filter):
- HCL, JSON and YAML double-quoted strings can spell a name with escapes (`"aws_iam_\\u0075ser"`,
  a YAML `\\` line continuation): any backslash keeps the file;
- GitHub action names are matched case-insensitively, as the parser lower-cases `uses:`;
- a file that is not clean UTF-8 text (NUL byte, invalid UTF-8) or is over the byte budget is
  kept, so the parser reports it as NHI902/NHI903 (fail-closed) instead of the filter hiding it.
`tests/test_robustness.py` checks over the whole corpus that no file in which the full parse finds
an identity is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from checker.parsers.common import word_alternation
from checker.policy.catalogue import Catalogue
from checker.policy.privileges import privilege_names

#: Literal names the parsers key on that are not catalogue type names: the `source` of each
#: catalogued module (registry address or GitHub repository, `checker.parsers.terraform`).
#: Then what `unread` facets key on (parsers/terraform/unread.py): provisioners, `external`
#: data sources and `module` block headers (any spacing HCL allows before the label).
_TERRAFORM_EXTRA = (b"terraform-aws-modules", b"terraform-aws-iam", b"service-accounts",
                    b"iam-system-user", b"provisioner", b'"external"', b'module "',
                    b"module  ", b"module\t", b'module"',
                    # the identity a `provider` block runs as: parsers/terraform/providers.py
                    b"assume_role", b"impersonate_service_account", b"access_token",
                    b"client_id", b"use_oidc", b"profile",
                    # a resource naming its provider: parsers/terraform/provider_use.py
                    b"provider =", b"provider=", b"provider  ", b"provider\t")
#: `${{ secrets.X }}`: parsers/github_secrets.py; a job running Terraform with inputs set in CI:
#: parsers/ci_tf_inputs.py (`terraform`, `tofu`, `terragrunt` in its `run:` text).
_ACTIONS_EXTRA = (b"permissions", b"secrets", b"terraform", b"tofu", b"terragrunt")
#: Admission policies and webhooks that guard identity creation (their facets:
#: parsers/kubernetes/admission.py; a Namespace's Pod Security label) and Flux sources
#: (parsers/kubernetes/flux_sources.py): words every such object's `kind`, `apiVersion` or
#: label holds. A custom resource's pod template (parsers/kubernetes/workloads.py
#: `generic_pod_spec`) names a `serviceAccountName` or lists `containers`. A
#: `PersistentVolume` (and its claim) of the node's credentials (parsers/kubernetes/volumes.py).
_KUBERNETES_EXTRA = (b"AdmissionPolicy", b"WebhookConfiguration", b"kyverno.io",
                     b"gatekeeper.sh", b"pod-security.kubernetes.io/enforce",
                     b"source.toolkit.fluxcd.io", b"serviceAccountName", b"containers",
                     b"PersistentVolume")


#: Searches of one format by plain substring tests before its alternation is compiled: a
#: `hook` or small `check` filters a few files, and compiling the prefix-tree patterns costs
#: more than testing each word of a few files; a `scan` passes this after a few files.
_SUBSTRING_SEARCHES = 32


class Tokens:
    """The words of each filtered format (`terraform`, `kubernetes`, `github_actions`, and the
    `*_module` privilege names) and whether each is matched case-insensitively.

    `search(fmt, raw)` answers whether any word of `fmt` occurs in `raw`; None for a format
    without words. The first `_SUBSTRING_SEARCHES` searches of a format test each word with
    `bytes.__contains__`; later ones use one compiled prefix-tree alternation
    (`checker.parsers.common.word_alternation`). Both give the same answer: a regular
    expression made of literal words matches exactly where one of them occurs, and `re`'s
    `IGNORECASE` on bytes folds ASCII letters only, as `bytes.lower` does.
    """

    def __init__(self, words: Mapping[str, tuple[frozenset[bytes], bool]]) -> None:
        self.words = dict(words)
        self._patterns: dict[str, re.Pattern[bytes]] = {}
        self._searches: dict[str, int] = {}

    def pattern(self, fmt: str) -> re.Pattern[bytes] | None:
        """The compiled alternation of `fmt`'s words (compiled on first call); None when `fmt`
        has no words."""
        compiled = self._patterns.get(fmt)
        if compiled is None and fmt in self.words:
            words, ignore_case = self.words[fmt]
            compiled = self._patterns[fmt] = word_alternation(words, ignore_case=ignore_case)
        return compiled

    def search(self, fmt: str, raw: bytes) -> bool | None:
        """True when a word of `fmt` occurs in `raw`, False when none does, None when `fmt`
        has no words."""
        entry = self.words.get(fmt)
        if entry is None:
            return None
        count = self._searches.get(fmt, 0)
        if count >= _SUBSTRING_SEARCHES or fmt in self._patterns:
            pattern = self.pattern(fmt)
            return pattern is not None and pattern.search(raw) is not None
        self._searches[fmt] = count + 1
        words, ignore_case = entry
        haystack = raw.lower() if ignore_case else raw
        return any(word in haystack for word in words)


#: The last (catalogue, tokens) built: `check`/`hook` parse head and base with the same
#: catalogue object (`load_catalogue` is cached).
_LAST_BUILT: list[tuple[Catalogue, Tokens]] = []


def build_tokens(catalogue: Catalogue) -> Tokens:
    """The tokens for each parsed format, derived from `catalogue`.

    Terraform: each resource type, each `data.<type>` without its prefix, the catalogued
    modules' registry/GitHub names, and (`terraform_module`, searched only in a file that
    contains `module`) the privilege names a module argument may hold.
    Kubernetes: each kind (`Secret:<type>` entries reduce to `Secret`, `ConfigMap:<name>` ones
    to the name: `argocd-rbac-cm`, `aws-auth`).
    GitHub Actions: each catalogued action (`owner/repo[/path]`), `permissions`, `secrets`
    and `terraform`/`tofu`/`terragrunt` (`parsers/ci_tf_inputs.py`).
    Built once per catalogue object (identity, not equality: a catalogue is immutable).
    """
    if _LAST_BUILT and _LAST_BUILT[0][0] is catalogue:
        return _LAST_BUILT[0][1]
    tokens = _build_tokens(catalogue)
    _LAST_BUILT[:] = [(catalogue, tokens)]
    return tokens


def _build_tokens(catalogue: Catalogue) -> Tokens:
    tf: set[bytes] = set(_TERRAFORM_EXTRA)
    k8s: set[bytes] = set(_KUBERNETES_EXTRA)
    gha: set[bytes] = set(_ACTIONS_EXTRA)
    for fmt, type_ in catalogue.entries:
        if fmt == "terraform":
            if type_.startswith("module:"):
                continue
            tf.add(type_.split(":", 1)[0].removeprefix("data.").encode())
        elif fmt == "kubernetes":
            # `Secret:kubernetes.io/tls` -> `Secret`; `iam.aws.upbound.io/User` -> its API
            # group, written in the object's `apiVersion`; `ConfigMap:argocd-rbac-cm` and
            # `ConfigMap:aws-auth` -> the name, the only ConfigMaps read
            kind, _, name = type_.partition(":")
            k8s.add((name if kind == "ConfigMap" else kind.rsplit("/", 1)[0]).encode())
        elif fmt == "github_actions":
            gha.add(type_.lower().encode())
    # Any other `module` call is an identity when an argument names an admin/escalation grant
    # (`checker.policy.privileges.named_privilege`): searched only in files that contain `module`.
    named = frozenset(w.lower().encode() for w in privilege_names())
    terraform = (frozenset(w for w in tf if w), False)
    return Tokens(
        {
            "terraform": terraform,
            "terraform_json": terraform,
            "terraform_module": (named, True),
            "terraform_json_module": (named, True),
            "kubernetes": (frozenset(w for w in k8s if w), False),
            "github_actions": (frozenset(w.lower() for w in gha if w), True),
        }
    )


def may_define_identity(fmt: str, raw: bytes, tokens: Tokens, max_bytes: int) -> bool:
    """False only when file bytes `raw` of format `fmt` provably define no identity.

    True (parse it) for an unknown format, a file over `max_bytes`, one with a NUL byte, a
    backslash or invalid UTF-8, or one containing any token of its format.
    """
    if fmt not in tokens.words or len(raw) > max_bytes or b"\x00" in raw or b"\\" in raw:
        return True
    if tokens.search(fmt, raw):
        return True
    if b"module" in raw and tokens.search(f"{fmt}_module", raw):
        return True
    if not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return True
    return False
