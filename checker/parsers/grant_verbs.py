"""Cloud CLI sub-commands that mint or widen access (`GRANT_VERBS`), found in a command's text:
shared by what Terraform runs (`checker.parsers.terraform.unread`: `local-exec`, `external`) and
what a CI step's `run:` script runs (`checker.parsers.ci_grants`)."""

from __future__ import annotations

import re

from checker.lazy_patterns import lazy_compile

#: A `gh api` call that writes: `-X`/`--method` PUT, POST or PATCH, or a field (`-f`, `-F`,
#: `--input`) without a GET or DELETE method (gh then sends a POST).
_GH_WRITE = (r"(?=[^;&|\n]*?(?:\s-X\s*|\s--method[=\s]+)['\"]?(?:PUT|POST|PATCH)\b|"
             r"(?![^;&|\n]*?(?:\s-X\s*|\s--method[=\s]+)['\"]?(?:GET|DELETE)\b)"
             r"[^;&|\n]*?\s(?:-f|-F|--field|--raw-field|--input)[\s=])")
#: ... to a REST path that grants: collaborators, keys, secrets, memberships, a team's
#: repositories, an installation token, Actions permissions.
_GH_PATH = (r"(?=[^;&|\n]*?\s['\"]?/?(?:repos|orgs|user|app)\b[^;&|\n]*?/(?:collaborators|keys"
            r"|secrets|memberships|access_tokens|actions/permissions|teams/[^;&|\n]*?/repos)\b)")

#: Cloud CLI sub-commands that mint or widen access, matched in a command's text (global
#: options may sit between the CLI and its sub-command). Read-only sub-commands (`list-*`,
#: `get-*`, `describe`, `kubectl get`, `gh api` without a write method or field, a label
#: removed with `key-`) are never listed. Those whose grant is not in their words are
#: `checker.parsers.ci_grant_gains`'s, with their sources. Sources, one page per family:
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
         r"create-service-specific-credential|(?:put|delete)-(?:role|user)-permissions-boundary|"
         r"create-open-id-connect-provider|add-client-id-to-open-id-connect-provider|"
         r"add-role-to-instance-profile|upload-ssh-public-key)\b"),
        ("aws", "aws sso-admin", r"\baws\b[^;&|\n]*?\bsso-admin\s+(create-account-assignment|"
         r"attach-managed-policy-to-permission-set|put-inline-policy-to-permission-set|"
         r"attach-customer-managed-policy-reference-to-permission-set)\b"),
        ("aws", "aws eks", r"\baws\b[^;&|\n]*?\beks\s+(create-access-entry|"
         r"associate-access-policy)\b"),
        ("gcp", "gcloud", r"\bgcloud\b[^;&|\n]*?(?<=\s)((?:(?:alpha|beta)\s+)?(?:[a-z][\w-]*\s+)"
         r"{1,2}?(?:add-iam-policy-binding|set-iam-policy)|iam\s+service-accounts\s+"
         r"(?:keys\s+create|create)|iam\s+roles\s+(?:create|update)|"
         r"iam\s+workload-identity-pools\s+(?:providers\s+)?(?:create|update)[\w-]*)\b"),
        ("azure", "az", r"\baz\b[^;&|\n]*?\b(role\s+assignment\s+create|ad\s+sp\s+create-for-rbac"
         r"|ad\s+(?:app|sp)\s+credential\s+reset|role\s+definition\s+(?:create|update)|"
         r"ad\s+app\s+permission\s+(?:grant|admin-consent|add)|ad\s+(?:app|sp)\s+owner\s+add|"
         r"(?:ad\s+app|identity)\s+federated-credential\s+create|ad\s+group\s+member\s+add|"
         r"keyvault\s+set-policy)\b"),
        ("kubernetes", "kubectl", r"\bkubectl\b[^;&|\n]*?\b(create\s+(?:cluster)?rolebinding|"
         r"create\s+(?:cluster)?role|create\s+serviceaccount|create\s+token|"
         r"apply\b[^;&|\n]*?(?:rbac|role|serviceaccount)|set\s+(?:subject|serviceaccount|sa)|"
         r"patch\s+(?:(?:cluster)?role(?:binding)?s?|serviceaccounts?|sa)\b|auth\s+reconcile|"
         r"label\b(?=[^;&|\n]*?\sclusterroles?(?:\.rbac\.authorization\.k8s\.io)?[/\s]"
         r"[^;&|\n]*?\s[\w.][\w./-]*=)|(?:label|annotate)\b(?=[^;&|\n]*?(?:aggregate-to-[\w.-]*"
         r"|eks\.amazonaws\.com/role-arn|iam\.gke\.io/gcp-service-account|"
         r"azure\.workload\.identity/[\w.-]+)=))"),
        ("github", "gh", r"\bgh\b[^;&|\n]*?\b(api\b" + _GH_WRITE + _GH_PATH
         + r"|secret\s+set|repo\s+deploy-key\s+add|ssh-key\s+add)\b"),
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
