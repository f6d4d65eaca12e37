"""Who is acting: accounts, sessions, tokens, roles, and the audit log."""
