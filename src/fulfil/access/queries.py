"""The access domain's SQL: users, sessions, tokens, the setup link and the audit log."""

from __future__ import annotations

USER_COLUMNS = "id, email, role, disabled, created_at, updated_at"

INSERT_USER = f"""
INSERT INTO app_user (email, password_hash, role) VALUES (:email, :password_hash, :role)
ON CONFLICT ((lower(email))) DO NOTHING
RETURNING {USER_COLUMNS}
"""
SELECT_USER = f"SELECT {USER_COLUMNS} FROM app_user WHERE id = :id"
SELECT_USER_FOR_UPDATE = f"SELECT {USER_COLUMNS} FROM app_user WHERE id = :id FOR UPDATE"
SELECT_USER_BY_EMAIL = f"SELECT {USER_COLUMNS}, password_hash FROM app_user WHERE lower(email) = lower(:email)"
LIST_USERS = f"SELECT {USER_COLUMNS} FROM app_user ORDER BY id LIMIT :limit OFFSET :offset"
COUNT_USERS = "SELECT count(*) FROM app_user"
# Locks the enabled admins, so two requests cannot each demote one of the last two.
LOCK_ENABLED_ADMINS = "SELECT id FROM app_user WHERE role = 'admin' AND NOT disabled ORDER BY id FOR UPDATE"
ANY_ENABLED_ADMIN = "SELECT EXISTS (SELECT 1 FROM app_user WHERE role = 'admin' AND NOT disabled)"
UPDATE_USER = f"""
UPDATE app_user SET role = :role, disabled = :disabled, updated_at = now() WHERE id = :id
RETURNING {USER_COLUMNS}
"""
SET_PASSWORD = "UPDATE app_user SET password_hash = :password_hash, updated_at = now() WHERE id = :id"

# Sessions.
INSERT_SESSION = """
INSERT INTO user_session (secret_hash, user_id, csrf_token, address)
VALUES (:secret_hash, :user_id, :csrf_token, :address)
RETURNING id
"""
# The one query each cookie-authenticated request makes: the live session with its enabled user.
FIND_SESSION = """
SELECT u.id AS user_id, u.email, u.role, s.id AS session_id, s.csrf_token, s.last_seen_at
FROM user_session s JOIN app_user u ON u.id = s.user_id
WHERE s.secret_hash = :secret_hash AND NOT u.disabled
  AND s.created_at > now() - make_interval(hours => :max_hours)
  AND s.last_seen_at > now() - make_interval(mins => :idle_minutes)
"""
TOUCH_SESSION = "UPDATE user_session SET last_seen_at = now() WHERE id = :id"
DELETE_SESSION = "DELETE FROM user_session WHERE secret_hash = :secret_hash RETURNING id, user_id"
DELETE_USER_SESSIONS = "DELETE FROM user_session WHERE user_id = :user_id"
PRUNE_SESSIONS = """
DELETE FROM user_session
WHERE created_at < now() - make_interval(hours => :max_hours)
   OR last_seen_at < now() - make_interval(mins => :idle_minutes)
"""

# Tokens.
TOKEN_COLUMNS = """t.id, t.name, t.prefix, t.scopes, t.expires_at, t.created_at, t.last_used_at, t.revoked_at,
    t.user_id, u.email AS owner"""
INSERT_TOKEN = """
INSERT INTO api_token (secret_hash, prefix, user_id, name, scopes, expires_at)
VALUES (:secret_hash, :prefix, :user_id, :name, :scopes, :expires_at)
RETURNING id
"""
# The one query each token-authenticated request makes: the live token with its enabled owner.
FIND_TOKEN = """
SELECT u.id AS user_id, u.email, u.role, t.id AS token_id, t.scopes, t.last_used_at
FROM api_token t JOIN app_user u ON u.id = t.user_id
WHERE t.secret_hash = :secret_hash AND t.revoked_at IS NULL AND NOT u.disabled
  AND (t.expires_at IS NULL OR t.expires_at > now())
"""
TOUCH_TOKEN = "UPDATE api_token SET last_used_at = now() WHERE id = :id"
SELECT_TOKEN = f"SELECT {TOKEN_COLUMNS} FROM api_token t JOIN app_user u ON u.id = t.user_id WHERE t.id = :id"
# `:user_id` NULL lists every user's tokens (for an admin).
LIST_TOKENS = f"""
SELECT {TOKEN_COLUMNS} FROM api_token t JOIN app_user u ON u.id = t.user_id
WHERE (CAST(:user_id AS bigint) IS NULL OR t.user_id = :user_id) AND t.revoked_at IS NULL
ORDER BY t.id DESC LIMIT :limit OFFSET :offset
"""
COUNT_TOKENS = """
SELECT count(*) FROM api_token t
WHERE (CAST(:user_id AS bigint) IS NULL OR t.user_id = :user_id) AND t.revoked_at IS NULL
"""
REVOKE_TOKEN = "UPDATE api_token SET revoked_at = now() WHERE id = :id AND revoked_at IS NULL RETURNING id"
REVOKE_USER_TOKENS = "UPDATE api_token SET revoked_at = now() WHERE user_id = :user_id AND revoked_at IS NULL"

# The first-admin link: one row, created if missing, removed when used.
ENSURE_SETUP_TOKEN = "INSERT INTO setup_token (token) VALUES (:token) ON CONFLICT (only_row) DO NOTHING"
SELECT_SETUP_TOKEN = "SELECT token FROM setup_token"
CONSUME_SETUP_TOKEN = "DELETE FROM setup_token WHERE token = :token RETURNING token"
DELETE_SETUP_TOKEN = "DELETE FROM setup_token"

# Audit.
INSERT_AUDIT = """
INSERT INTO audit_event (actor_user_id, actor_token_id, actor, address, action, target, details)
VALUES (:actor_user_id, :actor_token_id, :actor, :address, :action, :target, CAST(:details AS jsonb))
"""
_AUDIT_WHERE = """
WHERE (CAST(:actor AS text) IS NULL OR lower(actor) = lower(:actor))
  AND (CAST(:action AS text) IS NULL OR action = :action)
  AND (CAST(:since AS timestamptz) IS NULL OR at >= :since)
  AND (CAST(:until AS timestamptz) IS NULL OR at < :until)
"""
LIST_AUDIT = f"""
SELECT id, at, actor_user_id, actor_token_id, actor, address, action, target, CAST(details AS text) AS details
FROM audit_event {_AUDIT_WHERE}
ORDER BY at DESC, id DESC LIMIT :limit OFFSET :offset
"""
COUNT_AUDIT = f"SELECT count(*) FROM audit_event {_AUDIT_WHERE}"
PRUNE_AUDIT = "DELETE FROM audit_event WHERE at < now() - make_interval(days => :days) RETURNING id"
