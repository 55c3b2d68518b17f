DROP TABLE seal_check;
DROP TABLE signing_keys;
DROP TABLE role_bindings;
DROP TABLE service_accounts;
DROP TABLE instance_acls;
DROP TABLE instance_users;
DROP TABLE instances;
