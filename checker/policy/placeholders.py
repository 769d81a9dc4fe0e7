"""One judgement of "this literal is a placeholder, not a secret", shared by every secret rule.

NHI401 (`checker.secrets.hardcoded`, a literal under a credential-named key or a format-plugin
match) and NHI404 (`checker.parsers.kubernetes`, a Secret's `data`/`stringData` keys) ask the
same question of a value, so they ask it here and can never disagree (issue 15: NHI404 flagged
`change-me-placeholder`, `CHANGEME` and `p-XXXX` while NHI401 ignored them).

- `placeholder_word(value)`: the value says it is no secret: a placeholder word (`changeme`,
  `<token>`, `xxxx`, `your-`, `example`, `dummy`, `REDACTED`, `my-password`, ...), a reference
  or template (`${...}`, `$VAR`, `{{ }}`, `var.x`, `secrets:`, a secret-manager ARN), or at most
  two distinct characters (`****`, `aaaa`). Both rules use it. A placeholder word never hides
  a secret beside it (issue 12, "never pass a credential silently"): when what is left of the
  value without its placeholder words is itself random (`random_rest`: `changeme-<24 random
  characters>`, `<password>8fbp...`, `...-CHANGEME`), the value is no placeholder. A shell or
  compose default (`${DB_PASSWORD:-value}`, `${VAR-value}`, POSIX "Parameter Expansion",
  https://pubs.opengroup.org/onlinepubs/9799919799/utilities/V3_chap02.html#tag_19_06_02;
  https://docs.docker.com/compose/how-tos/environment-variables/variable-interpolation/) is
  read whenever the variable is unset, so its default is judged as the value.
- `armoured_placeholder(value)`: a PEM value (`-----BEGIN CERTIFICATE-----` ... `-----END
  CERTIFICATE-----`, any label) whose every block's body holds no base64 run of 40 characters
  drawn from at least 10 different ones (`encoded_material`, which NHI401's private-key
  blocks use too, `checker.secrets.pem`): `<your-client-certificate>`
  between the armour lines (RFC 7468 section 2: the body is base64,
  https://www.rfc-editor.org/rfc/rfc7468#section-2). The same test as NHI401's private-key
  blocks (`checker.secrets.pem`).
- `documented_example(value)`: a key published in a provider's documentation as an example:
  a placeholder, but one a scanner should still show (gitleaks and trivy users asked for it to
  be reported without blocking: a copy of it may sit beside a real key).

Sources for the documented examples: AWS "Managing access keys for IAM users"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html) and AWS
"Understanding and getting your AWS credentials"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/security-creds.html), which print
`AKIAIOSFODNN7EXAMPLE` and `wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from itertools import pairwise

from checker.lazy_patterns import lazy_compile

#: A reference, template or expression: the value is read from elsewhere at run time
#: (OpenCode's `{env:NAME}`/`{file:path}` too: https://opencode.ai/docs/config/#variables).
REFERENCE = lazy_compile(
    r"(?i)(\$\{|\$\(|\{\{|\{%|%\{|#\{|\(\(|^\{(env|file):|^\$[A-Za-z_{]|^(var|local|data|module|each|self|"
    r"secrets|env|vars|inputs|steps|needs|matrix|github|ref\+\w+|vault|sm|gcp|awssm|azkv):"
    r"|^(var|local|data|module|each|self|random_\w+|aws_\w+|google_\w+|azurerm_\w+|tls_\w+)\."
    r"|^arn:aws[\w-]*:(secretsmanager|ssm|kms)|^projects/[^/]+/secrets/|secretKeyRef|valueFrom"
    r"|^!|^\{\.|\w\(|^[A-Za-z_]\w*(\.\w+){2,}$)"
)
#: Words and shapes that say "fill me in". `my-password`, `my-service-principal-secret`,
#: `test-password`, `my-username` (a `my`/`test`/`some` prefix on a credential or user word)
#: are the README forms of "your password here"; so are `**access token goes here**`,
#: `supersecretpassword`, a value that says of itself that it is a secret (`shhhh! it's a
#: github secret`, Argo CD's `argocd-secret.yaml` example), and a value that is only a
#: credential word (`password`, `token`, `test`).
_WORD = lazy_compile(
    r"(?i)(xxxx|\*\*\*|\.\.\.|<[^>]+>|\[[^\]]+\]|your[_-]|replace|placeholder|changeme|change[_-]me"
    r"|(?<![a-z])example|sample|dummy|redacted|fake|mock|not[_-]?a[_-]?secret|insert|enter[_-]|todo|tbd"
    r"|fixme|default|secret[_-]?name|password[_-]?here|\bnull\b|\bnone\b"
    r"|^(?:my|test|some)[_-][\w-]*(?:secret|password|pass|pwd|token|key|user|username|login)"
    r"(?:[_-]?\d*)?$|(?:^|\s)it'?s\s+an?\s+(?:[\w.-]+\s+){0,4}secret\b"
    r"|^my(?:secret|password|pass|pwd|token|apikey)\d*$|supersecret|goes[_ -]?here"
    r"|^(?:password|passwd|pass|pwd|secret|token|key|apikey|test)$"
    r"|^(?:p|pw|pass|password|secret|token)[_-]x{3,}$)"
)
#: AWS's documented example access key ids (`AKIAIOSFODNN7EXAMPLE`, `AKIAI44QH8DHBEXAMPLE`) and
#: secret access keys (`wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`): a key id or 40-character
#: secret whose random part ends in `EXAMPLE` / `EXAMPLEKEY`.
_DOCUMENTED = lazy_compile(
    r"(?<![A-Za-z0-9/+])(?:(?:AKIA|ASIA)[A-Z0-9]{9}EXAMPLE|[A-Za-z0-9/+]{30}EXAMPLEKEY)"
    r"(?![A-Za-z0-9/+])"
)
_KEY_SHAPED = lazy_compile(r"[A-Za-z0-9/+=]{20,}")
#: `${NAME:-default}`, `${NAME-default}`, `${NAME:=default}`, `${NAME=default}` (the closing
#: brace may be cut off by the caller's tokenizer): the default is the value when NAME is unset.
#: Spring's `${db.password:default}` too (a property placeholder's default after a colon,
#: https://docs.spring.io/spring-framework/reference/core/beans/annotation-config/value-annotations.html),
#: but not VS Code's variables (`${input:api-token}`, `${env:TOKEN}`: a prefix and a name,
#: https://code.visualstudio.com/docs/reference/variables-reference).
_SHELL_DEFAULT = lazy_compile(
    r"^\$\{(?:[A-Za-z_]\w*:?[-=]|(?!(?:env|input|config|command|pickString|promptString):)"
    r"[A-Za-z_][\w.-]*:(?![-=?+]))(?P<default>[^{}$]*)\}?$")
#: The pieces of a value between separators, for `random_rest`.
_PIECE = lazy_compile(r"[A-Za-z0-9+/=]+")
#: What is left of a value without its placeholder words is a secret from this many characters
#: of random-looking pieces (`random_rest`) ...
MIN_REST = 12
#: ... at this Shannon entropy in bits per character (a random 12-character base62 string
#: scores about 3.4; words joined by dashes are dropped piece by piece first).
MIN_REST_ENTROPY = 3.0
#: A base64 run this long is encoded material (a 64-character PEM line, or a 40-character piece
#: of one cut by quotes or escapes) ...
MIN_MATERIAL = 40
#: ... when drawn from this many different characters (`xxxx...`, `AAAA...` are none).
MIN_DISTINCT = 10
_BASE64_RUN = lazy_compile(rf"[A-Za-z0-9+/=]{{{MIN_MATERIAL},}}")
#: One PEM block: its label and its body (RFC 7468 section 2).
_ARMOURED = lazy_compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)


def encoded_material(body: str) -> bool:
    """True when the PEM body `body` holds a base64 run of `MIN_MATERIAL` characters drawn from
    at least `MIN_DISTINCT` different ones: a key or certificate, not a placeholder
    (RFC 7468 section 3: the body is base64 in lines of 64 characters)."""
    return any(len(set(run)) >= MIN_DISTINCT for run in _BASE64_RUN.findall(body))


def armoured_placeholder(value: str) -> bool:
    """True when `value` holds PEM blocks and none of their bodies holds encoded material
    (`encoded_material`): documentation, not a certificate or key. A value with no complete
    PEM block gives False."""
    blocks = _ARMOURED.findall(value)
    return bool(blocks) and not any(encoded_material(body) for _, body in blocks)


def documented_example(value: str) -> bool:
    """True for a key a provider documents as its example (`AKIAIOSFODNN7EXAMPLE`), also when
    it is part of a longer value; see the module docstring for the sources."""
    return _DOCUMENTED.search(value) is not None


def _entropy(value: str) -> float:
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values()) if n else 0.0


def _random_piece(piece: str) -> bool:
    """A piece of a value that may be random: it mixes letters and digits, or flips case
    inside itself at least three times (`wKmDiFlz`); a word (`production`, `Secret`) or a
    number alone (`2024`) is not."""
    if any(c.isdigit() for c in piece) and any(c.isalpha() for c in piece):
        return True
    flips = sum(1 for a, b in pairwise(piece)
                if a.isalpha() and b.isalpha() and a.islower() != b.islower())
    return flips >= 3


def random_rest(rest: str) -> bool:
    """True when `rest`, what is left of a value without its placeholder words, is itself a
    secret: its random-looking pieces (`_random_piece`) hold at least `MIN_REST` characters at
    `MIN_REST_ENTROPY` bits per character (`8fbpaxmaL2fS-C-wK5mDiFlz` is; `-in-production`,
    `-2024`, `-here` are not)."""
    kept = "".join(p for p in _PIECE.findall(rest) if _random_piece(p))
    return len(kept) >= MIN_REST and _entropy(kept) >= MIN_REST_ENTROPY


def shell_default(value: str) -> str | None:
    """The default of a shell or compose default expansion `value` (`${DB_PASSWORD:-x}` gives
    `x`; the closing brace may be missing) or of a Spring property placeholder
    (`${DB_PASSWORD:x}`), else None."""
    found = _SHELL_DEFAULT.match(value.strip())
    return found.group("default") if found else None


#: The words of a value that describes the secret it stands for (`base64-encoded-512-bit-key`,
#: `a-long-random-string`, `32-character-secret`): every `-`/`_`/`.`/space-separated part is
#: one of these or a number.
_DESCRIPTION_WORDS = frozenset({
    "a", "an", "the", "of", "for", "with", "at", "least", "min", "minimum", "long", "length",
    "strong", "secure", "random", "generated", "string", "value", "base64", "hex", "encoded",
    "bit", "bits", "byte", "bytes", "char", "chars", "character", "characters", "key", "keys",
    "secret", "token", "password", "signing", "encryption", "jwt", "hmac", "aes", "sha256",
    "api", "private", "public", "put", "use", "here", "and",
})
_DESCRIPTION_SPLIT = lazy_compile(r"[-_. ]+")


#: `YourPingdomApiToken`, `YourApiKey`: "your" and a credential word, written in CamelCase (the
#: `your-`/`your_` forms are in `_WORD`); `Yourself1x...` has no second capitalised word.
_YOUR_CAMEL = lazy_compile(r"^(?:Your|My)(?:[A-Z][a-z]+)*?(?:Token|Key|Secret|Password|Pass)"
                         r"(?:[A-Z][a-z]+)*$")


def describes_itself(value: str) -> bool:
    """True when `value` is a phrase of three or more parts that only describes a secret
    (`base64-encoded-512-bit-key`): each part is a description word (`_DESCRIPTION_WORDS`) or
    a number, and at least two are words. Nothing random is left to be a secret."""
    parts = [p.lower() for p in _DESCRIPTION_SPLIT.split(value.strip()) if p]
    words = [p for p in parts if not p.isdigit()]
    return (len(parts) >= 3 and len(words) >= 2
            and all(p in _DESCRIPTION_WORDS for p in words))


def placeholder_word(value: str) -> bool:
    """True when `value` (stripped) says it is no secret: empty, a placeholder word, a
    reference or template, a description of a secret (`describes_itself`), "your" and a
    credential word in CamelCase (`YourPingdomApiToken`), or at most two distinct characters.
    A key-shaped value whose only placeholder word is `example` (`AKIAIOSFODNN7EXAMPLE`) is
    judged by `documented_example` instead, so this says False for it. A value whose
    placeholder words leave a random rest (`random_rest`: `changeme-8fbpaxmaL2fS-C-wK5mDiFlz`)
    is no placeholder, and a shell default (`${DB_PASSWORD:-value}`) is judged by its default
    (see the module docstring)."""
    v = value.strip()
    default = shell_default(v)
    if default is not None:
        return placeholder_word(default)
    if (not v or REFERENCE.search(v) or len(set(v)) <= 2 or describes_itself(v)
            or _YOUR_CAMEL.match(v)):
        return True
    words = list(_WORD.finditer(v))
    if words and all(m.group().lower() == "example" for m in words) and _KEY_SHAPED.fullmatch(v):
        return False  # a key-shaped value that only says EXAMPLE (AWS documentation keys)
    if not words:
        return False
    return not random_rest(_WORD.sub(" ", v))
