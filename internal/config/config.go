// Package config composes Coffer's process configuration from the Config
// types of the packages it wires, reads it from the environment and
// validates it before anything starts.
package config

import (
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/cofferhq/coffer/internal/envelope"
	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/iam"
	"github.com/cofferhq/coffer/internal/instance"
	"github.com/cofferhq/coffer/internal/keyservice"
)

// Config is the whole process configuration. Secret fields are tagged
// json:"-" and redacted by String.
type Config struct {
	APIAddr         string        `env:"COFFER_API_ADDR" envDefault:"127.0.0.1:8080"`
	VaultAddr       string        `env:"COFFER_VAULT_ADDR" envDefault:"127.0.0.1:8200"`
	DatabaseURL     string        `env:"COFFER_DATABASE_URL" json:"-"`
	DataDir         string        `env:"COFFER_DATA_DIR" envDefault:"./data"`
	RootKey         string        `env:"COFFER_ROOT_KEY" json:"-"`
	RootKeyFile     string        `env:"COFFER_ROOT_KEY_FILE"`
	Migrate         bool          `env:"COFFER_MIGRATE" envDefault:"true"`
	LogLevel        string        `env:"COFFER_LOG_LEVEL" envDefault:"info"`
	LogFormat       string        `env:"COFFER_LOG_FORMAT" envDefault:"text"`
	ShutdownTimeout time.Duration `env:"COFFER_SHUTDOWN_TIMEOUT" envDefault:"15s"`
	BodyLimit       string        `env:"COFFER_BODY_LIMIT" envDefault:"1M"`

	// KMSDriver names the KMS that wraps instance keyrings: "local" (the
	// embedded KMS) is the only one so far.
	KMSDriver string `env:"COFFER_KMS_DRIVER" envDefault:"local"`

	IAM      iam.Config
	Instance instance.Config
	KMS      keyservice.Config
	Envelope envelope.Config
}

// Load reads the configuration from the environment, fills derived
// defaults and validates it.
func Load() (*Config, error) {
	var c Config
	if err := env.Parse(&c); err != nil {
		return nil, errs.Wrap(errs.InvalidArgument, err, "read configuration")
	}
	if c.Instance.APIURL == "" {
		c.Instance.APIURL = "http://" + c.VaultAddr
	}
	c.Instance.APIURL = strings.TrimRight(c.Instance.APIURL, "/")
	c.KMS.Regions = c.Instance.Regions
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate checks every setting; the first problem found is returned as
// errs.InvalidArgument naming the variable.
func (c *Config) Validate() error {
	for name, addr := range map[string]string{"COFFER_API_ADDR": c.APIAddr, "COFFER_VAULT_ADDR": c.VaultAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return errs.E(errs.InvalidArgument, "%s: %q is not host:port", name, addr)
		}
	}
	if c.APIAddr == c.VaultAddr {
		return errs.E(errs.InvalidArgument, "COFFER_API_ADDR and COFFER_VAULT_ADDR must differ")
	}
	if c.DatabaseURL == "" && c.DataDir == "" {
		return errs.E(errs.InvalidArgument, "COFFER_DATA_DIR must not be empty when COFFER_DATABASE_URL is unset")
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return errs.E(errs.InvalidArgument, "COFFER_DATABASE_URL must be a postgres:// URL")
	}
	if c.RootKey != "" && c.RootKeyFile != "" {
		return errs.E(errs.InvalidArgument, "set COFFER_ROOT_KEY or COFFER_ROOT_KEY_FILE, not both")
	}
	if _, err := c.SlogLevel(); err != nil {
		return err
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return errs.E(errs.InvalidArgument, "COFFER_LOG_FORMAT must be text or json")
	}
	if c.ShutdownTimeout <= 0 {
		return errs.E(errs.InvalidArgument, "COFFER_SHUTDOWN_TIMEOUT must be positive")
	}
	if err := c.IAM.Validate(); err != nil {
		return err
	}
	if err := c.KMS.Validate(); err != nil {
		return err
	}
	if c.Envelope.CacheTTL < 0 {
		return errs.E(errs.InvalidArgument, "COFFER_KEYRING_CACHE_TTL must not be negative")
	}
	return c.Instance.Validate()
}

// SlogLevel parses LogLevel.
func (c *Config) SlogLevel() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, errs.E(errs.InvalidArgument, "COFFER_LOG_LEVEL must be debug, info, warn or error")
	}
	return l, nil
}

// String describes the configuration without any secret.
func (c *Config) String() string {
	db := "sqlite:" + c.DataDir
	if c.DatabaseURL != "" {
		db = "postgres (COFFER_DATABASE_URL, redacted)"
	}
	return fmt.Sprintf("api=%s vault=%s db=%s regions=%v default_region=%s",
		c.APIAddr, c.VaultAddr, db, c.Instance.Regions, c.Instance.DefaultRegion)
}
