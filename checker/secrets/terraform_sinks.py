"""Terraform secret sinks: where a secret attribute of one resource ends up in the open.

`terraform(path, text, lines, hcl)` -> facets (see `checker.secrets` for the shapes):
- `secret_file` / `rotated_secret_file`: a `local_file`/`local_sensitive_file` whose content is a
  secret attribute of another resource, rotated when that resource has `keepers`, `rotation_*`
  or refers to `time_rotating`;
- `secret_output`: an `output` whose value is a secret attribute, without `sensitive = true`
  (also through `local.*` values of the same file: `nonsensitive(local.creds)`);
- `secret_file` also for a `local-exec` provisioner whose `command` writes a secret attribute
  to a file (`echo ${tls_private_key.k.private_key_pem} > key.pem`), sink `local-exec:<ref>`;
- `secret_plain_parameter`: an `aws_ssm_parameter` of `type = "String"`/`"StringList"` whose
  value is a secret attribute: stored unencrypted, readable by every principal with
  `ssm:GetParameter`, instead of a `SecureString` (KMS-encrypted) parameter
  (https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-securestring.html);
- `oidc_trust_without_audience`: an AWS trust policy for a CI issuer with no `:aud` condition,
  or an Azure federated credential without an audience.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from checker.lazy_patterns import lazy_compile
from checker.model import IdentityObject
from checker.secrets.facets import facet

if TYPE_CHECKING:
    from checker.parsers.terraform import LoadedHcl

#: Attributes of Terraform resources that hold secret material (by name).
_SECRET_ATTR = lazy_compile(
    r"(?i)^(private_key\w*|\w*password\w*|\w*secret(?:_string|_binary|_access_key|_value|_id)?"
    r"|token|\w+_token|kube_?config\w*|\w*connection_string\w*|\w*access_key|key_material"
    r"|client_key|client_certificate_key|encrypted_secret|ses_smtp_password_v4)$"
)
_SECRET_ATTR_EXCLUDED = lazy_compile(r"(?i)(_arn|_name|_length|_version|_ids?_?|_count|_type)$")
_TF_REF = lazy_compile(
    r"(?<![\w.])(?:(data)\.)?([a-z][a-z0-9_]*)\.([A-Za-z_][\w-]*)\.([A-Za-z_]\w*)"
)
_ROTATION_ATTRS = ("keepers", "rotation_rules", "rotation_triggers", "rotate_when_changed",
                   "rotation_days", "rotation_period", "rotation_lambda_arn")
_LOCAL_FILE_TYPES = ("local_file", "local_sensitive_file")
#: A shell command that writes to a file: a redirection or `tee`.
_WRITES_FILE = lazy_compile(r"(?<![<>&\d])>>?\s*[^\s&]|\|\s*tee\b")
_LOCAL_REF = lazy_compile(r"(?<![\w.])local\.([A-Za-z_][\w-]*)")
#: How many `local.*` hops `_secret_refs` follows (locals referring to locals).
_LOCAL_DEPTH = 4
_CONTENT_ATTRS = ("content", "sensitive_content", "content_base64")
_CI_ISSUERS = ("token.actions.githubusercontent.com", "gitlab.com")
_AUD_KEY = lazy_compile(r"(token\.actions\.githubusercontent\.com|gitlab\.com)[^\"'\s]*:aud")
_FEDERATED_CI = lazy_compile(
    r"(oidc-provider/(token\.actions\.githubusercontent\.com|gitlab\.com)"
    r"|(token\.actions\.githubusercontent\.com|gitlab\.com)[^\"'\s]*:sub)"
)

#: Every Terraform facet comes from a block named by one of these (or an `output` block); a
#: file without any (and without a backslash, which could spell one in an escaped label) needs
#: no HCL parse for the secret scan.
_TF_FACET_TOKENS = lazy_compile(
    r"local_file|local_sensitive_file|\boutput\b|aws_iam_role|aws_iam_policy_document"
    r"|federated_identity_credential|local-exec|aws_ssm_parameter|\\"
)


def needs_hcl(text: str) -> bool:
    """True when the Terraform facets of `text` need its parsed HCL (see `_TF_FACET_TOKENS`)."""
    return _TF_FACET_TOKENS.search(text) is not None


def terraform(path: str, text: str, lines: list[str], hcl: LoadedHcl | None = None
              ) -> list[IdentityObject]:  # fmt: skip
    """The Terraform facets of one `.tf` file (`lines` is `text` split on `\\n`).

    `hcl` is the caller's parse of the same file; without it the file is parsed here, and only
    when `needs_hcl(text)`. An unparsable file gives the facets of the blocks that parse alone
    (`checker.parsers.terraform.hcl.load_text`; its parser reports the rest).
    """
    if hcl is not None:
        data = hcl.data
    elif not needs_hcl(text):
        return []
    else:
        from checker.parsers.terraform.hcl import load_text

        data = load_text(path, text).data
    if not isinstance(data, dict):
        return []
    blocks = list(_tf_blocks(data))
    local_values = _locals(data)
    resources = {f"{t}.{n}": body for section, t, n, body in blocks if section == "resource"}
    rotated = {addr for addr, body in resources.items() if _rotates(body)}
    out: list[IdentityObject] = []
    for section, rtype, name, body in blocks:
        start, end = _int(body.get("__start_line__")), _int(body.get("__end_line__"))
        address = f"{rtype}.{name}" if section == "resource" else f"{section}.{rtype}.{name}"
        if section == "resource" and rtype in _LOCAL_FILE_TYPES:
            for attr in _CONTENT_ATTRS:
                for ref in _secret_refs(body.get(attr)):
                    source_addr = ref.rsplit(".", 1)[0]
                    type_ = "rotated_secret_file" if source_addr in rotated else "secret_file"
                    anchor = _attr_line(lines, start, end, attr)
                    out.append(facet(path, type_, "secret", "generic", f"{address}#{ref}",
                                     start, end, anchor, (f"local_file:{ref}",), address,
                                     (source_addr,)))
        elif section == "output":
            value = body.get("value")
            if body.get("sensitive") is True:
                continue
            for ref in _secret_refs(value, local_values):
                anchor = _attr_line(lines, start, end, "value")
                out.append(facet(path, "secret_output", "secret", "generic",
                                 f"output.{name}#{ref}", start, end, anchor,
                                 (f"output:{ref}",), f"output.{name}",
                                 (ref.rsplit(".", 1)[0],)))
        if section == "resource":
            out.extend(_resource_sinks(path, lines, address, rtype, body, local_values))
        if (section, rtype) in (("resource", "aws_iam_role"), ("data", "aws_iam_policy_document")):
            block_text = "\n".join(lines[start - 1 : end])
            if _FEDERATED_CI.search(block_text) and not _AUD_KEY.search(block_text):
                anchor = next((n for n in range(start, end + 1)
                               if _FEDERATED_CI.search(lines[n - 1])), start)
                issuer = next(i for i in _CI_ISSUERS if i in block_text)
                out.append(facet(path, "oidc_trust_without_audience", "oidc_trust", "aws",
                                 f"{address}#aud", start, end, anchor,
                                 (f"issuer:{issuer}",), address))
        if section == "resource" and rtype in (
            "azuread_application_federated_identity_credential",
            "azurerm_federated_identity_credential",
        ) and not (body.get("audiences") or body.get("audience")):
            anchor = _attr_line(lines, start, end, "issuer")
            out.append(facet(path, "oidc_trust_without_audience", "oidc_trust", "azure",
                             f"{address}#aud", start, end, anchor,
                             (f"issuer:{body.get('issuer')}",), address))
    return out


def _resource_sinks(path: str, lines: Sequence[str], address: str, rtype: str,
                    body: Mapping[str, Any], local_values: Mapping[str, Any]
                    ) -> list[IdentityObject]:  # fmt: skip
    """`secret_file` facets of a resource's `local-exec` provisioners that write a secret to a
    file, and the `secret_plain_parameter` facet of a plain-text SSM parameter."""
    start, end = _int(body.get("__start_line__")), _int(body.get("__end_line__"))
    out: list[IdentityObject] = []
    for provisioner in _as_list(body.get("provisioner")):
        local_exec = provisioner.get("local-exec") if isinstance(provisioner, dict) else None
        if not isinstance(local_exec, dict):
            continue
        command = local_exec.get("command")
        if not isinstance(command, str) or not _WRITES_FILE.search(command):
            continue
        for ref in _secret_refs(command, local_values):
            anchor = _attr_line(lines, _int(local_exec.get("__start_line__")), end, "command")
            out.append(facet(path, "secret_file", "secret", "generic", f"{address}#{ref}",
                             start, end, anchor, (f"local-exec:{ref}",), address,
                             (ref.rsplit(".", 1)[0],)))
    kind = body.get("type")
    if rtype == "aws_ssm_parameter" and isinstance(kind, str) and kind in ("String", "StringList"):
        for ref in _secret_refs(body.get("value") or body.get("insecure_value"), local_values):
            anchor = _attr_line(lines, start, end, "type")
            out.append(facet(path, "secret_plain_parameter", "secret", "aws",
                             f"{address}#{ref}", start, end, anchor, (f"ssm:{kind}:{ref}",),
                             address, (ref.rsplit(".", 1)[0],)))
    return out


def _locals(data: Mapping[str, Any]) -> dict[str, Any]:
    """Every `locals` value of the file, by name."""
    out: dict[str, Any] = {}
    for group in _as_list(data.get("locals")):
        if isinstance(group, dict):
            out.update((k, v) for k, v in group.items() if not k.startswith("__"))
    return out


def _tf_blocks(data: Mapping[str, Any]) -> Iterator[tuple[str, str, str, Mapping[str, Any]]]:
    for section in ("resource", "data"):
        for group in _as_list(data.get(section)):
            if isinstance(group, dict):
                for rtype, named in group.items():
                    if isinstance(named, dict):
                        for name, body in named.items():
                            if isinstance(body, dict) and "__start_line__" in body:
                                yield section, str(rtype), str(name), body
    for group in _as_list(data.get("output")):
        if isinstance(group, dict):
            for name, body in group.items():
                if isinstance(body, dict) and "__start_line__" in body:
                    yield "output", "output", str(name), body


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 1


def _rotates(body: Mapping[str, Any]) -> bool:
    if any(attr in body for attr in _ROTATION_ATTRS):
        return True
    return _mentions(body, "time_rotating.")


def _mentions(value: Any, needle: str) -> bool:
    """True when `needle` occurs in a string (a key or a value) anywhere inside `value`."""
    if isinstance(value, str):
        return needle in value
    if isinstance(value, dict):
        return any(_mentions(k, needle) or _mentions(v, needle) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_mentions(v, needle) for v in value)
    return False


def _secret_refs(value: Any, local_values: Mapping[str, Any] | None = None,
                 depth: int = 0) -> list[str]:
    """`type.name.attr` references in `value` that point at secret attributes, also through
    the `local.*` values it reads (`local_values`, at most `_LOCAL_DEPTH` hops)."""
    text = value if isinstance(value, str) else repr(value) if value is not None else ""
    found: list[str] = []
    if local_values and depth < _LOCAL_DEPTH:
        for m in _LOCAL_REF.finditer(text):
            for ref in _secret_refs(local_values.get(m.group(1)), local_values, depth + 1):
                if ref not in found:
                    found.append(ref)
    for m in _TF_REF.finditer(text):
        data, rtype, name, attr = m.groups()
        if data or rtype in ("var", "local", "module", "path", "each", "count", "self"):
            continue
        if _is_secret_attr(rtype, attr):
            ref = f"{rtype}.{name}.{attr}"
            if ref not in found:
                found.append(ref)
    return found


def _is_secret_attr(rtype: str, attr: str) -> bool:
    if attr == "result":
        return rtype == "random_password"
    if rtype.startswith("random_") and rtype != "random_password":
        return False
    return bool(_SECRET_ATTR.match(attr)) and not _SECRET_ATTR_EXCLUDED.search(attr)


def _attr_line(lines: Sequence[str], start: int, end: int, attr: str) -> int:
    pattern = re.compile(rf"^\s*{re.escape(attr)}\s*=")
    for n in range(start, min(end, len(lines)) + 1):
        if pattern.match(lines[n - 1]):
            return n
    return start
