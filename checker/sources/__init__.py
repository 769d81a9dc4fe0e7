"""Stage 1 besides git: which files nhi-gate reads and with which parser, Terraform module
directories, and the per-file budgets and parse worker."""
