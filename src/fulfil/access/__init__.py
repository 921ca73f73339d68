"""Access control: users and roles, sign-in sessions, API tokens, the route table and the audit log."""
