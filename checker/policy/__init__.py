"""What judges a change, read from the base revision: config, rule packs and docs, the identity
catalogue, privilege tables, CODEOWNERS and the baseline."""
