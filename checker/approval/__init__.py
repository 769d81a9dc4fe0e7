"""Beside the pipeline: who approved what (PR reviews, signed approval commits, suppressions and
the baseline applied to findings). Approval never creates findings."""
