DROP TABLE vault_token_meta;
DROP TABLE vault_tokens;
