-- Access tokens may expire (Postgres; the same column as migrations/sqlite/0004_token_expiry.sql):
-- Unix seconds after which the token is refused, or NULL for a token that lives until it is
-- revoked (every token created before this migration).
ALTER TABLE access_tokens ADD COLUMN expires_at BIGINT;
