"""Python checks with real semantics, registered in `checker.engine` (IDENTITY_RULES, CROSS_RULES).

- `drift`: NHI302, privileges gained between base and head (identity rule).
- `lifetime`: NHI303, a long-lived static credential where a short-lived one exists.
- `environments`: NHI204, one identity referenced from more than one environment (cross rule).
- `iam`: AWS action semantics (wildcard expansion, access levels) from policy_sentry.
"""
