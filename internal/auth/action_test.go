package auth_test

import (
	"testing"

	"github.com/axtract/axtract/internal/auth"
)

func TestCanFollowsRolesTable(t *testing.T) {
	t.Parallel()
	// Each role's actions, as docs/accounts.md lists them.
	want := map[auth.Role][]auth.Action{
		auth.RoleAdmin: auth.Actions(),
		auth.RoleAnalyst: {auth.ActionCatalogRead, auth.ActionPreview, auth.ActionRequestRead, auth.ActionRequestDraft,
			auth.ActionRunRead},
		auth.RolePrivacyOfficer: {auth.ActionCatalogRead, auth.ActionPreview, auth.ActionRequestRead, auth.ActionRequestReview,
			auth.ActionConsentManage, auth.ActionDisclosureRead, auth.ActionExceptionManage, auth.ActionAuditRead},
		auth.RoleOperator: {auth.ActionCatalogRead, auth.ActionRunRead, auth.ActionRunManage, auth.ActionOpsUI,
			auth.ActionDeliveryRead},
		auth.RolePartner: {auth.ActionDeliveryRead, auth.ActionDeliveryDownload},
	}
	for _, role := range auth.Roles {
		p := &auth.Principal{Login: "x", Role: role, PartnerID: 7}
		allowed := map[auth.Action]bool{}
		for _, a := range want[role] {
			allowed[a] = true
		}
		for _, a := range auth.Actions() {
			if got := auth.Can(p, a); got != allowed[a] {
				t.Errorf("Can(%s, %s) = %v, want %v", role, a, got, allowed[a])
			}
		}
	}
}

func TestCanRefusesNilAndUnknown(t *testing.T) {
	t.Parallel()
	if auth.Can(nil, auth.ActionCatalogRead) {
		t.Error("Can(nil principal) = true")
	}
	if auth.Can(&auth.Principal{Role: auth.RoleAdmin}, auth.Action("no.such")) {
		t.Error("Can(admin, unknown action) = true")
	}
	if auth.Can(&auth.Principal{Role: auth.Role("root")}, auth.ActionCatalogRead) {
		t.Error("Can(unknown role) = true")
	}
}

func TestCanPartnerScopesPartners(t *testing.T) {
	t.Parallel()
	partner := &auth.Principal{Role: auth.RolePartner, PartnerID: 7, PartnerSlug: "acme"}
	if !auth.CanPartner(partner, auth.ActionDeliveryDownload, 7) {
		t.Error("partner 7 may not download its own files")
	}
	if auth.CanPartner(partner, auth.ActionDeliveryDownload, 8) {
		t.Error("partner 7 may download partner 8's files")
	}
	if auth.CanPartner(&auth.Principal{Role: auth.RolePartner}, auth.ActionDeliveryRead, 0) {
		t.Error("a partner principal without a partner id may read deliveries")
	}
	operator := &auth.Principal{Role: auth.RoleOperator}
	if !auth.CanPartner(operator, auth.ActionDeliveryRead, 8) {
		t.Error("operator may not list partner 8's deliveries")
	}
	if auth.CanPartner(operator, auth.ActionDeliveryDownload, 8) {
		t.Error("operator may download partner 8's files")
	}
}
