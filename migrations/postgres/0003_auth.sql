-- Users and API tokens for `mltrack server --auth` (issue #9). Only argon2id hashes are stored: a
-- stolen database gives neither passwords nor tokens. A token is `mlt_<token_id>_<secret>`; the id is
-- the lookup key (an argon2 hash with its own salt cannot be looked up), the secret is hashed.

CREATE TABLE users (
    name          TEXT    NOT NULL PRIMARY KEY,
    -- NULL: the user authenticates with tokens only.
    password_hash TEXT,
    permission    TEXT    NOT NULL CHECK (permission IN ('read', 'edit')),
    creation_time BIGINT  NOT NULL
);

CREATE TABLE user_tokens (
    token_id      TEXT    NOT NULL PRIMARY KEY,
    user_name     TEXT    NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    secret_hash   TEXT    NOT NULL,
    creation_time BIGINT  NOT NULL
);
CREATE INDEX user_tokens_by_user ON user_tokens (user_name);
