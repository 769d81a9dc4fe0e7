"""Beside the pipeline: who wrote each commit and each line (agent signatures, commit
classification, trailers, git-ai notes, line attribution)."""
