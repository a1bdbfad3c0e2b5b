package repos

import (
	"errors"
	"testing"
)

func TestCheckMemberChange(t *testing.T) {
	for _, tc := range []struct {
		name            string
		mine, old, next Role
		self            bool
		ok              bool
	}{
		{"ViewerLeaves", RoleViewer, RoleViewer, RoleNone, true, true},
		{"OwnerLeaves", RoleOwner, RoleOwner, RoleNone, true, true},
		{"DeveloperAddsMember", RoleDeveloper, RoleNone, RoleViewer, false, false},
		{"AdminAddsDeveloper", RoleAdmin, RoleNone, RoleDeveloper, false, true},
		{"AdminPromotesToAdmin", RoleAdmin, RoleViewer, RoleAdmin, false, true},
		{"AdminGrantsOwner", RoleAdmin, RoleAdmin, RoleOwner, false, false},
		{"AdminDemotesOwner", RoleAdmin, RoleOwner, RoleAdmin, false, false},
		{"AdminRemovesOwner", RoleAdmin, RoleOwner, RoleNone, false, false},
		{"AdminRemovesViewer", RoleAdmin, RoleViewer, RoleNone, false, true},
		{"OwnerGrantsOwner", RoleOwner, RoleDeveloper, RoleOwner, false, true},
		{"OwnerRemovesOwner", RoleOwner, RoleOwner, RoleNone, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckMemberChange("test", tc.mine, tc.old, tc.next, tc.self)
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrForbidden)) {
				t.Errorf("CheckMemberChange(%s, %s → %s, self %t) = %v; want ok %t", tc.mine, tc.old, tc.next, tc.self, err, tc.ok)
			}
		})
	}
}
