-- Access control: users with a role, their sign-in sessions and API tokens, the one-time setup
-- link and the audit log.

CREATE TABLE app_user (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL,
    password_hash text NOT NULL,
    role text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    disabled boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- An email is one account whatever its case.
CREATE UNIQUE INDEX app_user_email_key ON app_user (lower(email));

-- A session's id lives only in the browser's cookie; the table keeps its SHA-256.
CREATE TABLE user_session (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    secret_hash bytea NOT NULL UNIQUE,
    user_id bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    csrf_token text NOT NULL,
    address text,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_session_user_idx ON user_session (user_id);

-- A token is shown once at creation; the table keeps its SHA-256 and its first characters.
CREATE TABLE api_token (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    secret_hash bytea NOT NULL UNIQUE,
    prefix text NOT NULL,
    user_id bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    name text NOT NULL,
    scopes text[] NOT NULL,
    expires_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX api_token_user_idx ON api_token (user_id);

-- At most one row: the first-admin link's token, kept until an admin exists so that every
-- process (and every restart) prints the same link.
CREATE TABLE setup_token (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    token text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_event (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor_user_id bigint REFERENCES app_user (id) ON DELETE SET NULL,
    actor_token_id bigint REFERENCES api_token (id) ON DELETE SET NULL,
    actor text,
    address text,
    action text NOT NULL,
    target text,
    details jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_event_at_idx ON audit_event (at DESC, id DESC);
CREATE INDEX audit_event_action_idx ON audit_event (action, at DESC);
CREATE INDEX audit_event_actor_idx ON audit_event (lower(actor), at DESC);
