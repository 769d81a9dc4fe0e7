"""Stage 2: secret material in every format nhi-gate reads."""
