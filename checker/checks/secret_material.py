"""NHI401-NHI409: secret material that is hardcoded or lands outside a secrets manager.

Identity rules over the facets of `checker.secrets.scan` and the Kubernetes `Secret`
objects of `checker.parsers.kubernetes`. They gate every author (`checker.gate`): a leak is a
leak whoever wrote it. Messages name the file, the key or resource and the redacted value
(`prefix…(sha256:8hex)`, or `…(scrypt:8hex)` for a password-like value:
`checker.secrets.redact.redact`), never the value itself.

Rules (all `error` by default) and the objects they judge:
- NHI401 hardcoded-credential: `hardcoded_secret` (variant `placeholder`, a note: a provider's
  documented example key such as `AKIAIOSFODNN7EXAMPLE`; variant `excluded`, a note: a format
  token a person wrote under a path the config excludes, sink `path:excluded`, read in `check`
  and `hook` by `checker.model.EXCLUDED_TOKENS`: the owners excluded the folder for its
  samples and fixtures, while an agent's or a bot's token there blocks); and, in `check`, a
  secret a commit of the range added to a file version head no longer has
  (`ChangeFacts.history_secrets`, `check_change`): a merge that keeps the commits publishes it;
- NHI402 secret-written-to-local-file: `secret_file`;
- NHI403 secret-output-not-sensitive: `secret_output`;
- NHI404 kubernetes-secret-with-literal-data: a Kubernetes `Secret` with `data`/`stringData`
  (variant `placeholder`, a note: every value is a placeholder by NHI401's judgement);
- NHI405 secret-in-ci-artifact-or-cache: `ci_secret_artifact`;
- NHI406 secret-echoed-to-ci-log: `ci_secret_echo`;
- NHI407 rotated-secret-outside-vault: `rotated_secret_file`, `ci_rotated_secret_artifact`;
- NHI408 terraform-state-committed: `terraform_state` (a state file in the change or scan);
- NHI409 secret-in-plain-parameter: `secret_plain_parameter` (an `aws_ssm_parameter` of type
  `String`/`StringList` holding a secret attribute).

Sources: OWASP NHI2:2025 Secret Leakage
(https://owasp.org/www-project-non-human-identities-top-10/2025/2-secret-leakage/),
Terraform sensitive outputs (https://developer.hashicorp.com/terraform/language/values/outputs#sensitive-suppressing-values-in-cli-output),
Kubernetes good practices for Secrets (https://kubernetes.io/docs/concepts/security/secrets-good-practices/),
Terraform sensitive data in state (https://developer.hashicorp.com/terraform/language/state/sensitive-data).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from checker.checks.api import ChangeFacts, ChangeHit, Hit, Subject
from checker.lazy_patterns import lazy_compile
from checker.model import Finding

_REDACTED = lazy_compile(r":(.{0,4}…\((?:sha256|scrypt):[0-9a-f]{8}\))$")
_K8S_LITERAL = ("data.", "stringData.")
_EXCLUDED = (" under a path the config excludes (`exclude:` silences identity findings there, "
             "not secret material)")

#: Facet type -> (rule id, what happened, where it went).
_SINK_RULES: Mapping[str, tuple[str, str]] = {
    "secret_file": ("NHI402", "writes secret material to a local file"),
    "rotated_secret_file": ("NHI407", "writes a rotated secret to a local file instead of a vault"),
    "secret_output": ("NHI403", "exposes secret material in an output without `sensitive = true`"),
    "secret_plain_parameter": ("NHI409", "stores secret material in a plain-text SSM parameter "
                                         "instead of a SecureString or a secrets manager"),
    "ci_secret_artifact": ("NHI405", "writes secret material to a file uploaded as an artifact "
                                     "or saved to a cache"),
    "ci_rotated_secret_artifact": ("NHI407", "leaves a newly minted credential in a file "
                                             "uploaded as an artifact or saved to a cache"),
    "ci_secret_echo": ("NHI406", "prints a secret to the job log"),
}


def redacted_value(address: str) -> str | None:
    """The redacted form carried at the end of a `hardcoded_secret` address, else None."""
    m = _REDACTED.search(address)
    return m.group(1) if m else None


def check(subject: Subject) -> Iterator[Hit]:
    """NHI401-NHI409 on one object (see the module table)."""
    obj = subject.obj
    anchor = obj.attribute_lines.get("anchor")
    if obj.type == "hardcoded_secret":
        detector = obj.secret_sinks[0].removeprefix("literal:") if obj.secret_sinks else "secret"
        key = next((k for k in obj.attribute_lines if k != "value"), None)
        where = f" in `{key}`" if key else ""
        if "placeholder:documented-example" in obj.secret_sinks:
            yield Hit("NHI401",
                      f"{detector}{where} is a provider's documented example key "
                      f"({redacted_value(obj.address) or 'redacted'}), a placeholder: make sure "
                      "no real key was left beside it",
                      key or "value", obj.attribute_lines.get("value"), variant="placeholder")
            return
        excluded = "path:excluded" in obj.secret_sinks  # under an `exclude:` path
        yield Hit("NHI401",
                  f"{detector} hardcoded{where} ({redacted_value(obj.address) or 'redacted'})"
                  f"{_EXCLUDED if excluded else ''}: move it to a secrets manager, reference it, "
                  "and rotate it", key or "value", obj.attribute_lines.get("value"),
                  variant="excluded" if excluded and subject.touch.actor_kind == "human"
                  else None)
        return
    if obj.type == "terraform_state":
        yield Hit("NHI408",
                  f"{obj.location.path} is Terraform state committed to the repository: it "
                  "holds every attribute of the resources it manages in plain text, generated "
                  "passwords, private keys and access keys included; remove it and purge it "
                  "from the history, rotate the secrets it held, and keep state in a remote "
                  "backend",
                  "state", anchor)
        return
    if obj.type in _SINK_RULES:
        rule_id, what = _SINK_RULES[obj.type]
        sink = obj.secret_sinks[0] if obj.secret_sinks else "unknown sink"
        source = obj.derived_from or obj.address.split("#", 1)[0]
        yield Hit(rule_id, f"{source} {what} ({sink})", sink, anchor)
        return
    if obj.platform == "kubernetes" and obj.type.split(":", 1)[0] == "Secret":
        keys = sorted(
            ((line, name) for name, line in obj.attribute_lines.items()
             if name.startswith(_K8S_LITERAL)),
        )
        if keys:
            line, name = keys[0]
            shown = ", ".join(n for _, n in keys[:3]) + (" ..." if len(keys) > 3 else "")
            yield Hit("NHI404",
                      f"{obj.address} commits literal secret data ({shown}) to the repository; "
                      "use an ExternalSecret, SealedSecret or CSI secret store instead",
                      name.split(".", 1)[0], line)
            return
        placeholders = sorted(
            ((line, name.removeprefix("placeholder:")) for name, line in obj.attribute_lines.items()
             if name.startswith("placeholder:") and name.removeprefix("placeholder:").startswith(
                 _K8S_LITERAL)),
        )
        if placeholders:
            line, name = placeholders[0]
            yield Hit("NHI404",
                      f"{obj.address} holds only placeholder values ({name} ...): the real values "
                      "would be committed here; use an ExternalSecret, SealedSecret or CSI secret "
                      "store instead", name.split(".", 1)[0], line, variant="placeholder")


def check_change(facts: ChangeFacts, findings: Sequence[Finding]) -> Iterator[ChangeHit]:
    """NHI401 on each secret a commit of the range added that head no longer shows, NHI408 on
    each Terraform state file it wrote that head no longer has
    (`facts.history_secrets`): on the file and line of the version that commit wrote, blamed on
    the commit. A secret an NHI401 finding at head already reports (the same redacted value)
    is not said twice."""
    at_head = {redacted_value(f.address) for f in findings
               if f.rule_id == "NHI401" and f.address}
    state_at_head = {f.location.path for f in findings if f.rule_id == "NHI408"}
    for commit, obj in facts.history_secrets:
        if obj.type == "terraform_state":
            path = obj.location.path
            if path not in state_at_head:
                yield ChangeHit(
                    "NHI408",
                    f"{path} as commit {commit[:12]} wrote it is Terraform state, in the "
                    "range's history although head no longer has it: merging the commits "
                    "publishes every secret it held. Rotate them, then rewrite the branch's "
                    "history or squash it when merging",
                    obj.location, "history", facts.provenance.get(commit), commit, obj.address,
                    (commit,))
            continue
        value = redacted_value(obj.address)
        if value in at_head:
            continue
        detector = obj.secret_sinks[0].removeprefix("literal:") if obj.secret_sinks else "secret"
        key = next((k for k in obj.attribute_lines if k != "value"), None)
        where = f" in `{key}`" if key else ""
        actor = facts.provenance.get(commit)
        aside = "path:excluded" in obj.secret_sinks
        yield ChangeHit(
            "NHI401",
            f"{detector} hardcoded{where} ({value or 'redacted'}) by commit {commit[:12]} is in "
            f"the range's history although head no longer has it ({obj.location.path} was "
            f"changed or deleted later){_EXCLUDED if aside else ''}: merging the commits "
            "publishes it. Rotate it, then rewrite the branch's history or squash it when "
            "merging", obj.location, "history", actor, commit, obj.address, (commit,),
            variant="excluded" if aside and actor is not None and actor.actor_kind == "human"
            else None)
