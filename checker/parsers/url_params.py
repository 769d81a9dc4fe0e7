"""Credentials in URL query strings: `https://mcp.example/sse?api_key=<token>`.

A service that takes its API key as a query parameter (MCP servers over SSE, webhooks, many
REST APIs) puts the credential inside a URL, where no `key: value` pair of the line names it:
the pair's key is `url`, and the value runs on past the parameter to the URL's end. Each
`name=value` parameter of a query string (RFC 3986 section 3.4,
https://www.rfc-editor.org/rfc/rfc3986#section-3.4) is yielded as a pair, for
`checker.secrets.hardcoded` to judge as any other (a credential-named key, placeholders and
references, entropy). A parameter counts only after a `?` that follows a scheme's `://`, so
shell text (`a=1 && b=2`) is never read as a query.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from checker.lazy_patterns import lazy_compile

#: A URL with a query: the scheme and authority, then `?` and the query (up to a quote, space,
#: `#` fragment or `<`/`>`).
_QUERY = lazy_compile(r"""[A-Za-z][\w+.-]*://[^\s"'<>?#]*\?(?P<query>[^\s"'<>#]+)""")


def query_pairs(line: str) -> Iterator[tuple[str, str]]:
    """(name, value) for each `name=value` parameter of each URL query on `line`, in order;
    parameters without `=` or with an empty value are skipped. Values are as written (not
    percent-decoded)."""
    for url in _QUERY.finditer(line):
        for part in re.split(r"[&;]", url.group("query")):
            name, eq, value = part.partition("=")
            if eq and name and value:
                yield name, value
