package instance

import (
	"slices"

	"github.com/cofferhq/coffer/internal/errs"
)

// Config holds the control plane's settings.
type Config struct {
	// Regions are the regions this Coffer serves on the v2 paths.
	Regions []string `env:"COFFER_REGIONS" envDefault:"eu01" envSeparator:","`
	// DefaultRegion is the region the v1 paths (which have none) map onto.
	DefaultRegion string `env:"COFFER_DEFAULT_REGION" envDefault:"eu01"`
	// MaxUsers and MaxACLs cap users and ACLs per instance; past them the API
	// answers 409, as STACKIT does ("User limit reached").
	MaxUsers int `env:"COFFER_MAX_USERS_PER_INSTANCE" envDefault:"50"`
	MaxACLs  int `env:"COFFER_MAX_ACLS_PER_INSTANCE" envDefault:"100"`
	// APIURL is the Vault listener's public URL, shown as each instance's apiUrl.
	APIURL string `env:"COFFER_VAULT_PUBLIC_URL"`
}

// Validate checks the config's invariants.
func (c Config) Validate() error {
	if len(c.Regions) == 0 {
		return errs.E(errs.InvalidArgument, "COFFER_REGIONS must name at least one region")
	}
	for _, r := range c.Regions {
		if !regionRE.MatchString(r) {
			return errs.E(errs.InvalidArgument, "COFFER_REGIONS: %q is not a valid region name", r)
		}
	}
	if !slices.Contains(c.Regions, c.DefaultRegion) {
		return errs.E(errs.InvalidArgument, "COFFER_DEFAULT_REGION %q is not one of COFFER_REGIONS", c.DefaultRegion)
	}
	if c.MaxUsers < 1 || c.MaxACLs < 1 || c.MaxACLs > 1000 {
		return errs.E(errs.InvalidArgument,
			"COFFER_MAX_USERS_PER_INSTANCE must be >= 1 and COFFER_MAX_ACLS_PER_INSTANCE between 1 and 1000")
	}
	if c.APIURL == "" {
		return errs.E(errs.InvalidArgument, "COFFER_VAULT_PUBLIC_URL must not be empty")
	}
	return nil
}
