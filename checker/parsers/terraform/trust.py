"""Trust: who may assume or federate into an identity (`model.Trust`).

AWS assume-role policies and trust documents, Azure federated identity credentials, GCP
workload identity pool providers and Vault JWT auth roles. Read for privilege drift (NHI302)
and environment reuse (NHI204) in checker/checks/.
"""

from __future__ import annotations

from checker.lazy_patterns import lazy_compile
from checker.model import Trust
from checker.parsers.aws_policy import effect_of, statement_conditions, statement_trust
from checker.parsers.terraform.grants_aws import block_conditions, policy_document
from checker.parsers.terraform.nodes import Node, find_line, strings

#: A condition variable on the OIDC subject (`token.actions.githubusercontent.com:sub`).
_SUBJECT_KEY = lazy_compile(r"(?:^|:)sub$")


def declared_trust(rtype: str, node: Node) -> tuple[Trust, ...]:
    """Who may assume or federate into the identity `node` defines (see `model.Trust`).

    - `aws_iam_role`: each Allow statement of a literal `assume_role_policy` (Principal x
      `*:sub` condition values, `Condition` keys; whole `local.*`/`var.*` values resolved when
      `node` resolves); a `data.aws_iam_policy_document` reference is read there.
    - `data.aws_iam_policy_document`: statements with `principals` blocks (trust documents).
    - Azure federated identity credentials: `issuer` limited to `subject`.
    - `google_iam_workload_identity_pool_provider`: the OIDC/AWS issuer limited by
      `attribute_condition` (CEL text, compared as written).
    - `vault_jwt_auth_backend_role`: the JWT backend limited by `bound_subject` and
      `bound_claims.sub`.
    """
    out: list[Trust] = []
    if rtype == "aws_iam_role":
        doc = policy_document(node.get("assume_role_policy"))
        if node.doc.resolver is not None:  # a `sub` value or principal from local.*/var.*
            doc = node.doc.resolver.resolve_deep(doc)
        statements = doc.get("Statement") if isinstance(doc, dict) else None
        if isinstance(statements, dict):
            statements = [statements]
        for st in statements if isinstance(statements, list) else []:
            if not isinstance(st, dict) or effect_of(st.get("Effect")) == "deny":
                continue
            principals, subjects = statement_trust(st)
            conditions = statement_conditions(st.get("Condition"))
            for p in principals:
                named = p.removeprefix("NotPrincipal:").split(":", 1)[1]
                needle = subjects[0] if subjects else named
                line = find_line(node, "assume_role_policy", needle)
                out.append(Trust(p, tuple(subjects), line, conditions))
    elif rtype == "aws_iam_policy_document":
        for st in node.blocks("statement"):
            if effect_of(st.get("effect")) == "deny":
                continue
            subjects = [
                v
                for cond in st.blocks("condition")
                if isinstance(cond.get("variable"), str)
                and _SUBJECT_KEY.search(str(cond.get("variable")))
                for v in strings(cond.get("values"))
            ]
            conditions = block_conditions(st)
            for pr in st.blocks("principals"):
                ptype = pr.get("type")
                for ident in strings(pr.get("identifiers")):
                    out.append(Trust(f"{ptype}:{ident}", tuple(subjects), pr.line("identifiers"),
                                     conditions))
    elif rtype in ("azuread_application_federated_identity_credential",
                   "azurerm_federated_identity_credential"):
        issuer, subject = node.get("issuer"), node.get("subject")
        if isinstance(issuer, str):
            limit = (subject,) if isinstance(subject, str) else ()
            out.append(Trust(f"Issuer:{issuer}", limit, node.line("subject", "issuer")))
    elif rtype == "google_iam_workload_identity_pool_provider":
        issuer = "*"
        for oidc in node.blocks("oidc"):
            value = oidc.get("issuer_uri")
            issuer = value if isinstance(value, str) else issuer
        for aws in node.blocks("aws"):
            value = aws.get("account_id")
            issuer = f"aws:{value}" if isinstance(value, str) else issuer
        cond = node.get("attribute_condition")
        limit = (cond,) if isinstance(cond, str) and cond.strip() else ()
        out.append(Trust(f"Issuer:{issuer}", limit, node.line("attribute_condition", "oidc")))
    elif rtype == "vault_jwt_auth_backend_role":
        backend = node.get("backend")
        subjects = strings(node.get("bound_subject"))
        claims = node.get("bound_claims")
        if isinstance(claims, dict):
            subjects.extend(s for v in strings(claims.get("sub")) for s in v.split(","))
        out.append(Trust(f"Vault-JWT:{backend if isinstance(backend, str) else 'jwt'}",
                         tuple(subjects), node.line("bound_claims", "bound_subject")))
    return tuple(dict.fromkeys(out))
