"""Common bots are bots, each by an address its source documents; a person whose name ends in
"bot" stays a person (rules/agents.yaml, the bot entries)."""

from __future__ import annotations

import pytest

from checker.provenance.classify import classify_actor

# (author name, author email, product); the address each bot commits with, per its source
BOTS = [
    ("Snyk bot", "snyk-bot@snyk.io", "Snyk"),  # argo-cd f75e881d30
    ("Snyk bot", "github+bot@snyk.io", "Snyk"),  # argo-cd bacddacbcfc1
    ("Mend Renovate", "bot@renovateapp.com", "Renovate"),
    ("WhiteSource Renovate", "bot@renovateapp.com", "Renovate"),
    ("renovate[bot]", "29139614+renovate[bot]@users.noreply.github.com", "Renovate"),
    ("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com", "Dependabot"),
    ("github-actions", "github-actions@github.com", "GitHub Actions"),
    ("github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com",
     "GitHub Actions"),
    ("ImgBotApp", "ImgBotHelp@gmail.com", "ImgBot"),
    ("pre-commit-ci[bot]", "66853113+pre-commit-ci[bot]@users.noreply.github.com",
     "GitHub App bot"),
    ("mergify[bot]", "37929162+mergify[bot]@users.noreply.github.com", "GitHub App bot"),
    ("allcontributors[bot]", "46447321+allcontributors[bot]@users.noreply.github.com",
     "GitHub App bot"),
    ("codecov[bot]", "22429695+codecov[bot]@users.noreply.github.com", "GitHub App bot"),
]


@pytest.mark.parametrize(("name", "email", "product"), BOTS)
def test_common_bot_is_a_bot(name: str, email: str, product: str) -> None:
    prov = classify_actor(name, email)
    assert (prov.actor_kind, prov.agent) == ("bot", product)


@pytest.mark.parametrize(("name", "email"), [
    ("JesseBot", "jessebot@linux.com"),  # a person (argo-cd), name ending in "bot"
    ("Betajobot", "28572351+betajobot@users.noreply.github.com"),  # a privacy address
    ("Marius Sturm", "marius.sturm@snyk.io"),  # a Snyk employee is no bot
])
def test_person_named_bot_stays_a_person(name: str, email: str) -> None:
    prov = classify_actor(name, email)
    assert (prov.actor_kind, prov.agent) == ("human", None)
