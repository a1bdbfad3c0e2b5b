-- 0006: a token's rules inside git (docs/api.md, "Token rules"): the JSON
-- of auth.Rules, or NULL for a token without rules, which every token
-- issued before this migration keeps, so that it works as it did.

ALTER TABLE tokens ADD COLUMN rules TEXT;
