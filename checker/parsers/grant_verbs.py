"""Cloud CLI sub-commands that mint or widen access (`GRANT_VERBS`), found in a command's text:
shared by what Terraform runs (`checker.parsers.terraform.unread`: `local-exec`, `external`) and
what a CI step's `run:` script runs (`checker.parsers.ci_grants`)."""

from __future__ import annotations

import re

from checker.lazy_patterns import lazy_compile

#: Cloud CLI sub-commands that mint or widen access, matched in a command's text (global
#: options may sit between the CLI and its sub-command). Sources, one page per family:
#: https://docs.aws.amazon.com/cli/latest/reference/iam/attach-role-policy.html (and the
#: sibling pages of `aws iam`), https://cloud.google.com/sdk/gcloud/reference/projects/add-iam-policy-binding,
#: https://cloud.google.com/sdk/gcloud/reference/iam/service-accounts/keys/create,
#: https://learn.microsoft.com/en-us/cli/azure/role/assignment,
#: https://learn.microsoft.com/en-us/cli/azure/ad/sp#az-ad-sp-create-for-rbac,
#: https://kubernetes.io/docs/reference/kubectl/generated/kubectl_create/kubectl_create_clusterrolebinding/
GRANT_VERBS: tuple[tuple[str, str, re.Pattern[str]], ...] = tuple(
    (platform, name, lazy_compile(pattern, re.IGNORECASE)) for platform, name, pattern in (
        ("aws", "aws iam", r"\baws\b[^;&|\n]*?\biam\s+(attach-(?:role|user|group)-policy|"
         r"put-(?:role|user|group)-policy|create-access-key|create-user|create-role|"
         r"create-login-profile|update-login-profile|add-user-to-group|"
         r"update-assume-role-policy|create-policy-version|set-default-policy-version|"
         r"create-service-specific-credential)\b"),
        ("gcp", "gcloud", r"\bgcloud\b[^;&|\n]*?\b((?:projects|organizations|folders)\s+"
         r"(?:add-iam-policy-binding|set-iam-policy)|iam\s+service-accounts\s+"
         r"(?:keys\s+create|add-iam-policy-binding|set-iam-policy|create))\b"),
        ("azure", "az", r"\baz\b[^;&|\n]*?\b(role\s+assignment\s+create|ad\s+sp\s+create-for-rbac"
         r"|ad\s+(?:app|sp)\s+credential\s+reset|role\s+definition\s+create)\b"),
        ("kubernetes", "kubectl", r"\bkubectl\b[^;&|\n]*?\b(create\s+(?:cluster)?rolebinding|"
         r"create\s+(?:cluster)?role|create\s+serviceaccount|create\s+token|"
         r"apply\b[^;&|\n]*?(?:rbac|role|serviceaccount))"),
    ))  # fmt: skip


def grant_verbs(text: str) -> list[tuple[str, str]]:
    """(platform, `<cli> <sub-command>`) for each `GRANT_VERBS` match in `text`, in order."""
    found: list[tuple[int, str, str]] = []
    for platform, cli, pattern in GRANT_VERBS:
        for m in pattern.finditer(text):
            words = " ".join(m.group(1).split()[:4])
            if cli == "kubectl" and words.startswith("apply"):
                words = "apply"
            found.append((m.start(), platform, f"{cli} {words}"))
    return [(p, v) for _, p, v in sorted(found)]
