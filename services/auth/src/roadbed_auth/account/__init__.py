"""Accounts: users, credentials, email verification, password reset, roles, MFA secrets."""
