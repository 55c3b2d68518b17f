package iam

import "slices"

// Permission names follow the STACKIT specs' x-stackit-authorization actions.
const (
	PermInstanceList   = "secrets-manager.instance.list"
	PermInstanceCreate = "secrets-manager.instance.create"
	PermInstanceGet    = "secrets-manager.instance.get"
	PermInstanceUpdate = "secrets-manager.instance.update"
	PermInstanceDelete = "secrets-manager.instance.delete"

	PermKeyRingList   = "kms.keyring.list"
	PermKeyRingCreate = "kms.keyring.create"
	PermKeyRingGet    = "kms.keyring.get"
	PermKeyRingUpdate = "kms.keyring.update"
	PermKeyRingDelete = "kms.keyring.delete"
	// PermKeyUse covers encrypt, decrypt, sign and verify. STACKIT maps them to
	// kms.keyring.get; Coffer splits them out so that kms.reader can read key
	// metadata without being able to use the keys.
	PermKeyUse = "kms.key.use"

	PermRoleBindingManage = "iam.role-binding.manage"
)

// Role names. The seed calls the first two "Secrets Manager Reader/Admin".
const (
	RoleSecretsManagerReader = "secrets-manager.reader"
	RoleSecretsManagerAdmin  = "secrets-manager.admin"
	RoleKMSReader            = "kms.reader"
	RoleKMSAdmin             = "kms.admin"
	RoleKMSUser              = "kms.user"
	RoleOwner                = "owner"
)

var rolePermissions = map[string][]string{
	RoleSecretsManagerReader: {PermInstanceList, PermInstanceGet},
	RoleSecretsManagerAdmin: {PermInstanceList, PermInstanceCreate, PermInstanceGet,
		PermInstanceUpdate, PermInstanceDelete},
	RoleKMSReader: {PermKeyRingList, PermKeyRingGet},
	RoleKMSAdmin: {PermKeyRingList, PermKeyRingCreate, PermKeyRingGet, PermKeyRingUpdate,
		PermKeyRingDelete},
	RoleKMSUser: {PermKeyRingList, PermKeyRingGet, PermKeyUse},
}

func init() {
	var all []string
	for _, perms := range rolePermissions {
		for _, p := range perms {
			if !slices.Contains(all, p) {
				all = append(all, p)
			}
		}
	}
	rolePermissions[RoleOwner] = append(all, PermRoleBindingManage)
}

// Roles returns the names of all roles, sorted.
func Roles() []string {
	out := make([]string, 0, len(rolePermissions))
	for r := range rolePermissions {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// ValidRole reports whether role is a known role.
func ValidRole(role string) bool {
	_, ok := rolePermissions[role]
	return ok
}

// RoleGrants reports whether role includes permission.
func RoleGrants(role, permission string) bool {
	return slices.Contains(rolePermissions[role], permission)
}
