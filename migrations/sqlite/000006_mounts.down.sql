DROP TABLE vault_userpass_users;
DROP TABLE vault_mounts;
