"""A connection URI that carries no credential: `mongodb://mongodb:27017`, `redis://cache:6379/0`.

A chart's Secret often holds a service address (`mongodb-uri: mongodb://mongodb:27017`): a URI
names where to connect, and its credential, when it has one, sits in one of three places:
- the userinfo before `@` in the authority (`postgres://app:s3cret@db:5432/app`, RFC 3986
  section 3.2.1, https://www.rfc-editor.org/rfc/rfc3986#section-3.2.1, "user:password" is
  deprecated but used by every database driver);
- a query parameter (`?password=...`, `?sig=...`, `?api_key=...`; the same parameter names
  `checker.parsers.url_params` reads for NHI401);
- a random path segment (a Slack or Discord webhook: `/services/T000/B000/<24 random
  characters>`), judged with NHI401's randomness test (`placeholders.random_rest`).

`credential_free_uri(value)` is True only for a one-line URI with none of these: no secret
material, so NHI404 does not call it literal secret data. Anything else (a URI with a password,
a token parameter, a random path, or text that is no URI) is left to the secret rules.
"""

from __future__ import annotations

import re

from checker.lazy_patterns import lazy_compile
from checker.policy.placeholders import random_rest

#: scheme (a JDBC URL's `jdbc:<driver>` too) `://` authority, then an optional path and query;
#: no whitespace, no fragment.
_URI = lazy_compile(r"(?P<scheme>[A-Za-z][\w+.-]*(?::[A-Za-z][\w+.-]*)?)://"
                  r"(?P<authority>[^/?#\s]*)(?P<path>/[^?#\s]*)?(?:\?(?P<query>[^#\s]*))?")
#: A query parameter name that says it carries a credential (the words of NHI401's key test
#: and the signed-URL parameters: Azure SAS `sig`, AWS `X-Amz-Signature`/`X-Amz-Credential`).
_CREDENTIAL_PARAM = lazy_compile(
    r"(?i)pass|pwd|secret|token|key|credential|auth|sig|session|code|cert")


def credential_free_uri(value: str) -> bool:
    """True when `value` (stripped) is exactly one URI with no userinfo (`@` in its authority),
    no query parameter whose name is a credential word, and no random-looking path segment or
    query value; False otherwise (not a URI, or one that may carry a credential)."""
    m = _URI.fullmatch(value.strip())
    if m is None or "@" in m.group("authority") or not m.group("authority"):
        return False
    query = m.group("query") or ""
    values = []
    for part in re.split(r"[&;]", query) if query else ():
        name, _, param = part.partition("=")
        if _CREDENTIAL_PARAM.search(name):
            return False
        values.append(param)
    pieces = [*(m.group("path") or "").split("/"), *values]
    return not any(random_rest(piece) for piece in pieces if piece)
