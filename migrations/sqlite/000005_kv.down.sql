DROP TABLE kv_versions;
DROP TABLE kv_metadata;
DROP TABLE kv_mount_config;
