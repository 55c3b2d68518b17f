// Package config composes Coffer's process configuration from the Config
// types of the packages it wires, reads it from the environment and
// validates it before anything starts.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"reflect"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/go-playground/validator/v10"

	"github.com/cofferhq/coffer/internal/envelope"
	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/iam"
	"github.com/cofferhq/coffer/internal/instance"
	"github.com/cofferhq/coffer/internal/keyservice"
	"github.com/cofferhq/coffer/internal/token"
	"github.com/cofferhq/coffer/internal/vaultapi"
)

// Config is the whole process configuration. Secret fields are tagged
// json:"-" and redacted by String.
type Config struct {
	APIAddr         string        `env:"COFFER_API_ADDR" envDefault:"127.0.0.1:8080" validate:"hostname_port"`
	VaultAddr       string        `env:"COFFER_VAULT_ADDR" envDefault:"127.0.0.1:8200" validate:"hostname_port,nefield=APIAddr"`
	DatabaseURL     string        `env:"COFFER_DATABASE_URL" json:"-"` // checked by prefix below: unix-socket URLs have no host
	DataDir         string        `env:"COFFER_DATA_DIR" envDefault:"./data" validate:"required_without=DatabaseURL"`
	RootKey         string        `env:"COFFER_ROOT_KEY" json:"-" validate:"excluded_with=RootKeyFile"`
	RootKeyFile     string        `env:"COFFER_ROOT_KEY_FILE"`
	Migrate         bool          `env:"COFFER_MIGRATE" envDefault:"true"`
	LogLevel        string        `env:"COFFER_LOG_LEVEL" envDefault:"info" validate:"oneof=debug info warn error DEBUG INFO WARN ERROR"`
	LogFormat       string        `env:"COFFER_LOG_FORMAT" envDefault:"text" validate:"oneof=text json"`
	ShutdownTimeout time.Duration `env:"COFFER_SHUTDOWN_TIMEOUT" envDefault:"15s" validate:"gt=0"`
	BodyLimit       string        `env:"COFFER_BODY_LIMIT" envDefault:"1M" validate:"required"`

	// KMSDriver names the KMS that wraps instance keyrings: "local" (the
	// embedded KMS) is the only one so far.
	KMSDriver string `env:"COFFER_KMS_DRIVER" envDefault:"local"`

	// VaultTrustedProxies are the CIDRs of proxies whose X-Forwarded-For the
	// Vault listener believes (for instance ACLs); empty: none.
	VaultTrustedProxies []string `env:"COFFER_VAULT_TRUSTED_PROXIES" envSeparator:","`

	// TransitConfig is the path of the services file that declares the
	// Vault KMS endpoints (see internal/services); empty: none, and stored
	// endpoints are left as they are.
	TransitConfig string `env:"COFFER_TRANSIT_CONFIG"`

	IAM         iam.Config
	Instance    instance.Config
	KMS         keyservice.Config
	Envelope    envelope.Config
	VaultTokens token.Config
	Vault       vaultapi.Config
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
	for _, p := range c.VaultTrustedProxies {
		prefix, err := netip.ParsePrefix(strings.TrimSpace(p))
		if err != nil {
			return nil, errs.E(errs.InvalidArgument, "COFFER_VAULT_TRUSTED_PROXIES: %q is not a CIDR", p)
		}
		c.Vault.TrustedProxies = append(c.Vault.TrustedProxies, prefix)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// validate checks the struct tags above; one instance caches struct metadata.
var validate = validator.New(validator.WithRequiredStructEnabled())

// Validate checks every setting; the first problem found is returned as
// errs.InvalidArgument naming the variable.
func (c *Config) Validate() error {
	if err := validate.Struct(c); err != nil {
		var fe validator.ValidationErrors
		if errors.As(err, &fe) && len(fe) > 0 {
			return errs.E(errs.InvalidArgument, "%s: %q fails the %q rule", envName(fe[0]), fmt.Sprint(redact(fe[0])), fe[0].Tag())
		}
		return errs.Wrap(errs.InvalidArgument, err, "invalid configuration")
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return errs.E(errs.InvalidArgument, "COFFER_DATABASE_URL must be a postgres:// URL")
	}
	if err := c.IAM.Validate(); err != nil {
		return err
	}
	if err := c.KMS.Validate(); err != nil {
		return err
	}
	if c.Vault.Limits.MaxBodyBytes < 1 || c.Vault.Limits.MaxJSONDepth < 1 || c.Vault.Limits.MaxJSONEntries < 1 ||
		c.Vault.LoginFailures < 1 || c.Vault.LoginRefill <= 0 {
		return errs.E(errs.InvalidArgument, "COFFER_VAULT_MAX_* and COFFER_VAULT_LOGIN_* must be positive")
	}
	if c.VaultTokens.DefaultTTL <= 0 || c.VaultTokens.MaxTTL < 0 {
		return errs.E(errs.InvalidArgument, "COFFER_VAULT_TOKEN_TTL must be positive and COFFER_VAULT_TOKEN_MAX_TTL not negative")
	}
	if c.Envelope.CacheTTL < 0 {
		return errs.E(errs.InvalidArgument, "COFFER_KEYRING_CACHE_TTL must not be negative")
	}
	return c.Instance.Validate()
}

// envName returns the environment variable behind a struct field.
func envName(fe validator.FieldError) string {
	if f, ok := reflect.TypeOf(Config{}).FieldByName(fe.StructField()); ok {
		if name, _, _ := strings.Cut(f.Tag.Get("env"), ","); name != "" {
			return name
		}
	}
	return fe.Field()
}

// redact keeps secret values out of configuration errors.
func redact(fe validator.FieldError) any {
	if f, ok := reflect.TypeOf(Config{}).FieldByName(fe.StructField()); ok && f.Tag.Get("json") == "-" {
		return "<redacted>"
	}
	return fe.Value()
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
