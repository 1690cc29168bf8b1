-- Sign-outs: a token whose id is listed here is refused until it would have expired anyway.
CREATE TABLE revoked_tokens (
    jti        uuid        NOT NULL,
    user_id    uuid        NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT revoked_tokens_pkey PRIMARY KEY (jti),
    CONSTRAINT revoked_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

-- Pruning of entries whose token has expired.
CREATE INDEX revoked_tokens_expires_idx ON revoked_tokens (expires_at);
CREATE INDEX revoked_tokens_user_idx ON revoked_tokens (user_id);
