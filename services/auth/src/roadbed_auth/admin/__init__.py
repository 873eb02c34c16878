"""Administration of accounts: search, roles, disable/enable, force logout."""
