"""Hardcoded secret values in any text, line by line: `find_hardcoded(lines)` -> `Hit`s.

Two detectors, in this order on each line: the format plugins of `checker.secrets.detectors`
(a GitHub token, an AWS key, ... wherever it stands), then, when none matched, a literal under a
credential-named key (`password`, `secret`, `token`, `private_key`, `api_key`, ...) that is not
a placeholder or reference (`is_placeholder`) and is long and random enough (`entropy`); a
password-named key needs only `MIN_PASSWORD_LENGTH` characters. The key of a value comes from
`key: value`/`key = "value"`, from a Terraform `variable "NAME" {` block around a `default`,
or from a `name:` line above a `value:` line (Kubernetes/compose env lists, ECS JSON).

A value leaves this module only as `redact(value)`.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections import Counter
from collections.abc import Sequence, Set
from dataclasses import dataclass

from checker.lazy_patterns import lazy_compile
from checker.parsers.url_params import query_pairs
from checker.policy.placeholders import documented_example, placeholder_word, shell_default
from checker.secrets.detectors import may_hold_plugin_secret, plugin_values, plugins
from checker.secrets.encoded import decoded_secrets, docker_auths, plugin_placeholder
from checker.secrets.hot_lines import hot_lines, plugin_gate_lines
from checker.secrets.password_keys import is_password_key
from checker.secrets.pem import holds_key, placeholder_block
from checker.secrets.redact import PASSWORD_LIKE as _PASSWORD_LIKE
from checker.secrets.redact import redact

#: Lines longer than this are scanned on their first this-many characters only.
MAX_LINE = 4096
#: Minimum length and Shannon entropy of a literal under a credential-named key.
MIN_LENGTH = 8
MIN_ENTROPY = 3.0
#: From this length a lower entropy suffices (a 36-character UUID-shaped API key scores ~2.4).
LONG_LENGTH = 16
MIN_LONG_ENTROPY = 2.0

SECRET_KEY = lazy_compile(
    r"(?i)(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|private[_-]?key|privatekey"
    r"|secret[_-]?key|access[_-]?key|client[_-]?secret|credentials?|auth[_-]?key|token[_-]?key)$"
)
#: Password-named keys (`is_password_key`): any literal of this many characters is a hardcoded
#: password, however weak (`root`, `hackme` are exactly the passwords attackers try first).
MIN_PASSWORD_LENGTH = 4
#: `key: value`, `key = "value"`, `"key": "value"`, `KEY=value` (env / shell).
_KV = lazy_compile(
    r"""(?P<kq>["']?)(?P<key>[A-Za-z_][\w.\-]*)(?P=kq)\s*(?P<op>:|=)\s*"""
    r"""(?P<val>"(?:[^"\\]|\\.)*"|'[^']*'|[^\s"',;}\]#]+)"""
)
#: An index expression (`var.list[0]`, `local.m["k"]`): a reference only when unquoted; inside
#: quotes (`"F-oS9[DSF"`) `[` is a literal character of the value.
_INDEX = lazy_compile(r"\w\[")
#: Keys that name a setting about a password rather than the password itself.
_SETTING_KEY = lazy_compile(
    r"(?i)^(update|has|allow|allows|change|require|requires|reset|enable|use|manage|generate"
    r"|min|max|show|hide|no|skip|force|rotate|is)[_-]?\w*(password|token|secret)$"
)
#: `- name: DB_PASSWORD` then `value: ...` (Kubernetes/compose env lists), the same in JSON
#: (`"name": "DB_PASSWORD",` then `"value": "..."`: ECS container definitions), and a YAML key
#: with no value of its own whose next line is `value: ...` (`proxy-password:` / `  value: x`).
_ENV_NAME = lazy_compile(
    r"""^\s*-?\s*(?:["']?name["']?\s*:\s*["']?(?P<name>[A-Za-z_][\w.-]*)["']?\s*,?"""
    r"""|["']?(?P<parent>[A-Za-z_][\w.-]*)["']?\s*:)\s*$"""
)
_ENV_VALUE = lazy_compile(r"""^\s*["']?value["']?\s*:\s*("[^"]*"|'[^']*'|\S+?)\s*,?\s*$""")
#: A Terraform `variable "NAME" {` block header: its `default = "..."` is keyed by NAME
#: (`variable "db_password" { default = "..." }` holds a password although the key is `default`).
_TF_VARIABLE = lazy_compile(r"""^\s*variable\s+"(?P<name>[A-Za-z_][\w-]*)"\s*\{""")
_TF_DEFAULT = lazy_compile(
    r"""^\s*default\s*=\s*(?P<val>"(?:[^"\\]|\\.)*")\s*\}?\s*(?:#.*|//.*)?$"""
)
_TF_BLOCK_END = lazy_compile(r"^\}")
_NAME_CHARS = lazy_compile(r"[^A-Za-z0-9]")
#: A resource name: lower-case words joined by `-`, `_` and `.`, at least one `-` or `_`
#: (`keycloak-tls`, `wordpress.local-tls`, `secops-feeds-api-key`, `access_token`).
#: Generated tokens and keys are never dictionary words joined by dashes, so under a
#: secret/token/key-named key (`tlsSecret`, `*_secret_key`) such a value names a Secret or
#: a secret-manager entry; under a password-named key it may be a passphrase and is kept.
_SLUG = lazy_compile(r"^[a-z]+(?:[-_.][a-z]+)*[-_][a-z]+(?:[-_.][a-z]+)*$")

_BOOLEANISH = lazy_compile(r"(?i)^(true|false|yes|no|on|off|null|none|nil|~|\d+(\.\d+)?)$")
_PATHLIKE = lazy_compile(r"^(/|\./|\.\./|~/|[A-Za-z]:\\)|\.(pem|key|crt|json|txt|p12|pfx|jks|env)$")
_BASE64 = lazy_compile(r"^[A-Za-z0-9+/]{6,}={0,2}$")
#: The detector name of a literal under a credential-named key.
_KEYED = "credential-named key"
#: detect-secrets' private-key plugin: its hit on a PEM header whose body is a placeholder
#: (`<private-key>`, `...`) is dropped (`checker.secrets.pem.placeholder_block`).
_PRIVATE_KEY = "Private Key"
#: A line that is only a comment (YAML/shell `#`, HCL `//`).
COMMENT_ONLY = lazy_compile(r"^\s*(#|//)")


@dataclass(frozen=True)
class Hit:
    """One hardcoded secret: 1-based `line`, the detector (`GitHub Token`, or `credential-named
    key`), the key it was assigned to when known, and the redacted value."""

    line: int
    detector: str
    key: str | None
    redacted: str
    #: A key a provider documents as its example (`AKIAIOSFODNN7EXAMPLE`): reported as a
    #: placeholder, never blocking (`checker.policy.placeholders.documented_example`).
    example: bool = False



def entropy(value: str) -> float:
    """Shannon entropy of `value` in bits per character, over the characters it contains.

    detect-secrets' `calculate_shannon_entropy` counts only its plugin's charset (base64 or
    hex), which scores `b@d0@u7H70K3n` low because `@` is not base64; passwords use any
    printable character, so every character counts here.
    """
    if not value:
        return 0.0
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def is_placeholder(value: str, quoted: bool = False) -> bool:
    """True for values that are not secrets: references, placeholders, paths, booleans.

    The placeholder and reference words are `checker.policy.placeholders.placeholder_word`,
    the one judgement NHI404 uses too.

    `quoted` says the value was written in quotes, where an index expression cannot occur.
    """
    v = value.strip()
    return (
        placeholder_word(v)
        or (not quoted and bool(_INDEX.search(v)))
        or bool(_BOOLEANISH.match(v))
        or bool(_PATHLIKE.search(v))
    )


def find_hardcoded(lines: Sequence[str], key_names: Set[tuple[int, str]] = frozenset(),
                   template: bool = False) -> list[Hit]:
    """Hardcoded secrets in `lines` (index 0 is line 1), in line order.

    `key_names` are `(line, key)` pairs the caller knows hold a key name, never a value (from
    the parsed object's kind: `checker.parsers.kubernetes.key_names`); a credential-named-key
    hit on one of them is dropped (a format-plugin hit, a real token, is kept).

    Format plugins run first (a private-key header whose block holds no key material is
    skipped: `checker.secrets.pem`); a credential-named key with a literal of at least `MIN_LENGTH`
    characters and `MIN_ENTROPY` bits per character is the fallback (`credential-named key`).
    With `template` (a dotenv template, `.env.example`) a password-named key's literal must be
    as long and random as any secret's: `DB_PASSWORD=postgres` documents a default there.
    On one line, each detector runs only when the ones before it found nothing: plugins (the
    line's other pairs are still judged), then `key: value` pairs, then a Terraform variable's
    `default`, then a `name:`/`value:` pair.
    """
    out: list[Hit] = []
    env_name: str | None = None
    variable: str | None = None  # inside `variable "NAME" {` (HCL) until a `}` at column 1
    hot = hot_lines("\n".join(lines))
    for number, raw_line in enumerate(lines, start=1):
        line = raw_line[:MAX_LINE]
        if number - 1 not in hot and env_name is None and not (
                variable is not None and _KEY_WORDS.search(variable)):
            # No detector can fire on this line (`hot_lines`); keep the block state it sets. A
            # `name:` here names no credential, so it is as good as none for the next line.
            if variable is not None and line.startswith("}"):
                variable = None
            if "variable" in line:
                header = _TF_VARIABLE.match(line)
                if header:
                    variable = None if line.rstrip().endswith("}") else header.group("name")
            continue
        header = _TF_VARIABLE.match(line)
        if header:
            variable = header.group("name")
        elif variable is not None and _TF_BLOCK_END.match(line):
            variable = None
        previous, named = env_name, _ENV_NAME.match(line)
        if COMMENT_ONLY.match(line):
            named = None  # a comment between `name:` and `value:` keeps the pair
        else:
            env_name = (named.group("name") or named.group("parent")) if named else None
        plugin_found, plugin_values_seen = _plugin_hits(number, line)
        # A comment is prose or a commented-out example (`# static token: https://...`): only a
        # format-plugin match (a real token's shape) counts there, never a keyed value.
        found = [] if COMMENT_ONLY.match(line) else _keyed_hits(
            number, line, plugin_values_seen, template)
        if plugin_found:
            # The other pairs of a line a plugin matched (`{"db_password": "...", "github_token":
            # "ghp_..."}` on one line) are judged too; the matched values are not said twice.
            out.extend(sorted([*plugin_found, *found], key=lambda h: h.detector == _KEYED))
            continue
        default = _TF_DEFAULT.match(line) or (
            _TF_DEFAULT.match(line[header.end():]) if header else None)  # fmt: skip
        if variable is not None and default and not found:
            raw = default.group("val")
            hit = _keyed_hit(number, variable, raw, _unquote(raw))
            if hit is not None:
                found.append(hit)
        if header and line.rstrip().endswith("}"):
            variable = None  # a one-line `variable "x" { default = "..." }`
        env_value = _ENV_VALUE.match(line)
        if previous and env_value and not found:
            raw = env_value.group(1)
            hit = _keyed_hit(number, previous, raw, _unquote(raw))
            if hit is not None:
                found.append(hit)
        if not found:
            found = [Hit(number, d.detector, _key_before(line, d.run),
                         redact(d.value, d.detector in _PASSWORD_LIKE), documented_example(d.value))
                     for d in decoded_secrets(line) or docker_auths(line)]
        out.extend(found)
    if key_names:
        out = [h for h in out if h.detector != _KEYED or (h.line, h.key) not in key_names]
    return [h for h in out if h.detector != _PRIVATE_KEY or _real_key(lines, h.line - 1)]


def find_tokens(lines: Sequence[str]) -> list[Hit]:
    """The format-plugin matches of `lines` only (a GitHub token, an AWS key id, a private key
    with key material), in line order: how a text file no parser reads is judged
    (`checker.parsers.TOKENS`); no keyed value. A private-key header counts only with its
    whole block of key material (`checker.secrets.pem.holds_key`)."""
    gate = plugin_gate_lines("\n".join(lines))  # the plugins' own gate: key words do not count
    out = [hit for index in sorted(gate) if index < len(lines)
           for hit in _plugin_hits(index + 1, lines[index][:MAX_LINE])[0]]
    # Prose and code name private keys (`&mdash;BEGIN PRIVATE KEY` in generated docs): there a
    # header counts only with a whole block of key material, as in a comment (`holds_key`).
    return [h for h in out if h.detector != _PRIVATE_KEY or holds_key(lines, h.line - 1)]


def _real_key(lines: Sequence[str], index: int) -> bool:
    """A private-key header's hit stands: its block is no placeholder, and in a comment it is a
    whole block with key material (a header alone in a comment is prose)."""
    if index >= len(lines) or not COMMENT_ONLY.match(lines[index]):
        return index >= len(lines) or not placeholder_block(lines, index)
    return holds_key(lines, index)


def _plugin_hits(number: int, line: str) -> tuple[list[Hit], frozenset[str]]:
    """Format-plugin matches on one line, each distinct value once, placeholders skipped; and
    every value a plugin matched (placeholders too)."""
    seen: set[str] = set()
    found: list[tuple[str, str]] = []
    for plugin in plugins() if may_hold_plugin_secret(line) else ():
        for value in plugin_values(plugin, line):
            if value in seen or plugin_placeholder(value):
                continue
            seen.add(value)
            found.append((value, str(plugin.secret_type)))
    # One key, one hit: a match inside another plugin's longer match is part of the same key
    # (detect-secrets' old-style OpenAI pattern matches the middle of an `sk-proj-` key).
    out = [Hit(number, detector, _key_before(line, value),
               redact(value, detector in _PASSWORD_LIKE), documented_example(value))
           for value, detector in found
           if not any(value != other and value in other for other, _ in found)]
    return out, frozenset(seen)


#: Every key `_keyed_hit` accepts contains one of these (the words of `SECRET_KEY`, the
#: password names of `is_password_key`, and `Authorization`): a line without any has no keyed
#: hit, and is not split into pairs (most lines of a file).
_KEY_WORDS = lazy_compile(r"(?i)pass|pwd|secret|token|key|credential|authorization")


def _keyed_hits(number: int, line: str, matched: Set[str] = frozenset(),
                template: bool = False) -> list[Hit]:
    """`key: value` / `key = "value"` pairs on one line that hold a secret (see `_keyed_hit`),
    each distinct value once; a value holding one of `matched` (a format plugin's match on the
    line) is skipped."""
    if not _KEY_WORDS.search(line):
        return []
    seen: set[str] = set()
    out: list[Hit] = []
    for m in _KV.finditer(line):
        key, raw = m.group("key"), m.group("val")
        value = _unquote(raw)
        if (value in seen or _continues(line[m.end():], m.group("op"), raw)
                or any(v in value for v in matched)):
            continue
        hit = _keyed_hit(number, key, raw, value, template)
        if hit is not None:
            seen.add(value)
            out.append(hit)
    for key, value in query_pairs(line) if "://" in line else ():  # `?api_key=<token>`
        hit = None if value in seen else _keyed_hit(number, key, value, value, template)
        if hit is not None:
            seen.add(value)
            out.append(hit)
    return out


#: What may follow a literal on its line: a comment, a separator, a closing bracket.
_AFTER_LITERAL = lazy_compile(r"""^\s*(?:$|#|//|,|;|\}|\]|\))""")


def _continues(rest: str, op: str, raw: str) -> bool:
    """True when an unquoted value does not end where `_KV` stopped: YAML prose
    (`password: shhhh! it's a secret`, one scalar of several words) or an HCL expression
    (`password = v.type == "BUILT_IN" ? ... : null`); a literal ends its line (`KEY=value`,
    `key: value # note`)."""
    if raw[:1] in "\"'":
        return False
    return op in (":", "=") and not _AFTER_LITERAL.match(rest)


def _key_before(line: str, value: str) -> str | None:
    """The key of the `key: value` pair whose value starts where `value` does on `line` (a
    quoted value is closed for the match, so in one-line JSON the key is the value's own, not
    the pair before it), else None."""
    head = line[: line.find(value)]
    quote = head[-1] if head[-1:] in ("'", '"') else ""
    found = list(_KV.finditer(head + "X" + quote))
    return found[-1].group("key") if found else None


def keyed_value(number: int, key: str, raw: str) -> Hit | None:
    """The `Hit` for `raw` (a literal as written, quoted or not) assigned to `key` on 1-based
    line `number`, judged as a `key: value` pair is (a credential-named key, placeholders and
    references, the password length, the entropy of other secrets); None when it is no secret.
    For formats whose values are not `key: value` text (`checker.secrets.config_values`)."""
    return _keyed_hit(number, key, raw, _unquote(raw))


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        return raw[1:-1]
    return raw


#: Terraform's primitive type keywords: unquoted, they are a variable's type constraint
#: (https://developer.hashicorp.com/terraform/language/expressions/type-constraints).
_HCL_TYPE_WORDS = frozenset({"string", "number", "bool", "any"})
#: An unquoted value that opens a composite literal or a block (`&v1.Secret{`,
#: `esv1.ConjurAPIKey{`): code, not a literal.
_CODE = lazy_compile(r"^&?[A-Za-z_][\w.]*\{$")


#: An HTTP `Authorization` (or `Proxy-Authorization`) header key, and its value's scheme and
#: credential (RFC 9110 section 11.6.2, https://www.rfc-editor.org/rfc/rfc9110#section-11.6.2;
#: `Bearer`, RFC 6750 section 2.1, https://www.rfc-editor.org/rfc/rfc6750#section-2.1): an MCP
#: server's `headers` (`"Authorization": "Bearer <token>"`) carry the token itself.
_AUTH_HEADER = lazy_compile(r"(?i)^(?:proxy[_-])?authorization$")
_AUTH_VALUE = lazy_compile(r"(?i)^(?:bearer|basic|token|bot|apikey)\s+(?P<credential>\S+)$")


def _keyed_hit(number: int, key: str, raw: str, value: str, template: bool = False) -> Hit | None:
    name = key.rsplit(".", 1)[-1]
    header = _AUTH_VALUE.match(value) if _AUTH_HEADER.match(name) else None
    if header is not None:
        value = header.group("credential")  # `Bearer <credential>`: judged as a token's value
    password = is_password_key(name)
    if (not (password or header or SECRET_KEY.search(name)) or _SETTING_KEY.match(name)
            or is_placeholder(value, quoted=raw[:1] in "\"'")):
        return None
    if raw[:1] not in "\"'" and (value in _HCL_TYPE_WORDS or _CODE.match(value)):
        return None  # `password = string`: a Terraform type; `Key: &pkg.Type{`: Go code
    if _NAME_CHARS.sub("", value).lower() == _NAME_CHARS.sub("", name).lower():
        return None  # `HF_TOKEN: "HF_TOKEN"`: the value names the variable, it is no secret
    if not password and _SLUG.match(value):
        return None  # `tlsSecret: keycloak-tls`, `*_secret_key = "feeds-api-key"`: a name
    default = shell_default(value)
    if default is not None:
        value = default.strip()  # `${DB_PASSWORD:-x}`: `x` is the value when none is set
    candidates = [value]
    if _BASE64.match(value) and len(value) % 4 == 0:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        decoded = decoded.strip()  # `echo x | base64` keeps the newline
        if decoded.isprintable() and decoded:
            if is_placeholder(decoded):
                return None
            candidates.append(decoded)
    for candidate in candidates:
        for plugin in plugins() if may_hold_plugin_secret(candidate) else ():
            if any(True for _ in plugin_values(plugin, candidate)):
                detector = str(plugin.secret_type)
                return Hit(number, detector, key, redact(value, detector in _PASSWORD_LIKE),
                           documented_example(candidate))
    if password and not template:
        if len(value) < MIN_PASSWORD_LENGTH:
            return None
    elif len(value) < MIN_LENGTH or entropy(value) < (
        MIN_LONG_ENTROPY if len(value) >= LONG_LENGTH else MIN_ENTROPY
    ):
        return None
    if raw[:1] not in "\"'" and " " in value:
        return None
    return Hit(number, _KEYED, key, redact(value, True), documented_example(value))
