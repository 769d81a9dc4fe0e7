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
from dataclasses import dataclass

from checker.parsers.common import word_alternation
from checker.policy.catalogue import Catalogue
from checker.policy.privileges import privilege_names

#: Literal names the parsers key on that are not catalogue type names: the `source` of each
#: catalogued module (registry address or GitHub repository, `checker.parsers.terraform`).
#: Then what `unread` facets key on (parsers/terraform/unread.py): provisioners, `external`
#: data sources and `module` block headers (any spacing HCL allows before the label).
_TERRAFORM_EXTRA = (b"terraform-aws-modules", b"terraform-aws-iam", b"service-accounts",
                    b"iam-system-user", b"provisioner", b'"external"', b'module "',
                    b"module  ", b"module\t", b'module"')
#: `${{ secrets.X }}`: parsers/github_secrets.py; a job running Terraform with inputs set in CI:
#: parsers/ci_tf_inputs.py (`terraform`, `tofu`, `terragrunt` in its `run:` text).
_ACTIONS_EXTRA = (b"permissions", b"secrets", b"terraform", b"tofu", b"terragrunt")


@dataclass(frozen=True)
class Tokens:
    """One compiled alternation per file format (`terraform`, `kubernetes`, `github_actions`)."""

    patterns: Mapping[str, re.Pattern[bytes]]


def _alternation(words: set[bytes], *, ignore_case: bool = False) -> re.Pattern[bytes]:
    return word_alternation(words, ignore_case=ignore_case)  # a prefix tree: ~15x faster


#: The last (catalogue, tokens) built: `check`/`hook` parse head and base with the same
#: catalogue object (`load_catalogue` is cached), and compiling the alternations costs ~7 ms.
_LAST_BUILT: list[tuple[Catalogue, Tokens]] = []


def build_tokens(catalogue: Catalogue) -> Tokens:
    """The tokens for each parsed format, derived from `catalogue`.

    Terraform: each resource type, each `data.<type>` without its prefix, the catalogued
    modules' registry/GitHub names, and (`terraform_module`, searched only in a file that
    contains `module`) the privilege names a module argument may hold.
    Kubernetes: each kind (`Secret:<type>` entries reduce to `Secret`, `ConfigMap:<name>` to
    the name).
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
    k8s: set[bytes] = set()
    gha: set[bytes] = set(_ACTIONS_EXTRA)
    for fmt, type_ in catalogue.entries:
        if fmt == "terraform":
            if type_.startswith("module:"):
                continue
            tf.add(type_.split(":", 1)[0].removeprefix("data.").encode())
        elif fmt == "kubernetes":
            # `Secret:kubernetes.io/tls` -> `Secret`; `iam.aws.upbound.io/User` -> its API
            # group, written in the object's `apiVersion`; `ConfigMap:aws-auth` -> `aws-auth`
            # (its name: no other ConfigMap is an identity)
            kind, _, refined = type_.partition(":")
            k8s.add((refined if kind == "ConfigMap" else kind).rsplit("/", 1)[0].encode())
        elif fmt == "github_actions":
            gha.add(type_.lower().encode())
    tf_re = _alternation(tf)
    # Any other `module` call is an identity when an argument names an admin/escalation grant
    # (`checker.policy.privileges.named_privilege`): searched only in files that contain `module`.
    named = _alternation({w.encode() for w in privilege_names()}, ignore_case=True)
    return Tokens(
        {
            "terraform": tf_re,
            "terraform_json": tf_re,
            "terraform_module": named,
            "terraform_json_module": named,
            "kubernetes": _alternation(k8s),
            "github_actions": _alternation(gha, ignore_case=True),
        }
    )


def may_define_identity(fmt: str, raw: bytes, tokens: Tokens, max_bytes: int) -> bool:
    """False only when file bytes `raw` of format `fmt` provably define no identity.

    True (parse it) for an unknown format, a file over `max_bytes`, one with a NUL byte, a
    backslash or invalid UTF-8, or one containing any token of its format.
    """
    pattern = tokens.patterns.get(fmt)
    if pattern is None or len(raw) > max_bytes or b"\x00" in raw or b"\\" in raw:
        return True
    if pattern.search(raw) is not None:
        return True
    module = tokens.patterns.get(f"{fmt}_module")
    if module is not None and b"module" in raw and module.search(raw) is not None:
        return True
    if not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return True
    return False
