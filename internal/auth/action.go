package auth

// Action is something a principal may be allowed to do. Every layer (the
// GraphQL resolvers, the HTTP handlers, the River UI mount) calls Can with
// one of these, so the roles table of docs/accounts.md is enforced in one
// place.
type Action string

// Actions, grouped as in docs/accounts.md.
const (
	// ActionUserManage creates accounts and changes their roles, passwords
	// and status.
	ActionUserManage Action = "user.manage"

	// ActionCatalogRead lists datasets, their columns and classifications,
	// partners, views and request templates.
	ActionCatalogRead Action = "catalog.read"
	// ActionPreview reads sample rows of a drafted or live view.
	ActionPreview Action = "view.preview"

	// ActionRequestRead lists requests and their reviews.
	ActionRequestRead Action = "request.read"
	// ActionRequestDraft creates, edits and submits view and feed requests.
	ActionRequestDraft Action = "request.draft"
	// ActionRequestReview approves and rejects submitted requests.
	ActionRequestReview Action = "request.review"

	// ActionConsentManage records and revokes consents.
	ActionConsentManage Action = "consent.manage"
	// ActionDisclosureRead reads the accounting of disclosures.
	ActionDisclosureRead Action = "disclosure.read"
	// ActionExceptionManage records and revokes minimum-necessary
	// exceptions and data use agreements.
	ActionExceptionManage Action = "exception.manage"
	// ActionAuditRead reads the audit log.
	ActionAuditRead Action = "audit.read"

	// ActionRunRead lists feeds, runs and their files.
	ActionRunRead Action = "run.read"
	// ActionRunManage starts, retries and backfills runs and pauses and
	// resumes feeds.
	ActionRunManage Action = "run.manage"
	// ActionOpsUI opens the River UI at /riverui/.
	ActionOpsUI Action = "ops.ui"

	// ActionDeliveryRead lists deliveries. A partner principal lists its own
	// partner's only; use CanPartner.
	ActionDeliveryRead Action = "delivery.read"
	// ActionDeliveryDownload downloads delivered files. A partner principal
	// downloads its own partner's only; use CanPartner.
	ActionDeliveryDownload Action = "delivery.download"
)

// permissions maps each action to the roles that may take it. Admin is in
// every row.
var permissions = map[Action][]Role{
	ActionUserManage: {RoleAdmin},

	ActionCatalogRead: {RoleAdmin, RoleAnalyst, RolePrivacyOfficer, RoleOperator},
	ActionPreview:     {RoleAdmin, RoleAnalyst, RolePrivacyOfficer},

	ActionRequestRead:   {RoleAdmin, RoleAnalyst, RolePrivacyOfficer},
	ActionRequestDraft:  {RoleAdmin, RoleAnalyst},
	ActionRequestReview: {RoleAdmin, RolePrivacyOfficer},

	ActionConsentManage:   {RoleAdmin, RolePrivacyOfficer},
	ActionDisclosureRead:  {RoleAdmin, RolePrivacyOfficer},
	ActionExceptionManage: {RoleAdmin, RolePrivacyOfficer},
	ActionAuditRead:       {RoleAdmin, RolePrivacyOfficer},

	ActionRunRead:   {RoleAdmin, RoleAnalyst, RoleOperator},
	ActionRunManage: {RoleAdmin, RoleOperator},
	ActionOpsUI:     {RoleAdmin, RoleOperator},

	ActionDeliveryRead:     {RoleAdmin, RoleOperator, RolePartner},
	ActionDeliveryDownload: {RoleAdmin, RolePartner},
}

// Actions returns every action, in the order of docs/accounts.md.
func Actions() []Action {
	return []Action{
		ActionUserManage, ActionCatalogRead, ActionPreview,
		ActionRequestRead, ActionRequestDraft, ActionRequestReview,
		ActionConsentManage, ActionDisclosureRead, ActionExceptionManage, ActionAuditRead,
		ActionRunRead, ActionRunManage, ActionOpsUI,
		ActionDeliveryRead, ActionDeliveryDownload,
	}
}

// Can reports whether p may take action. A nil principal (a request that is
// not signed in) may take none, and an unknown action is refused.
func Can(p *Principal, action Action) bool {
	if p == nil {
		return false
	}
	return p.Is(permissions[action]...)
}

// CanPartner reports whether p may take action on the data of partner
// partnerID. A partner principal may act only on its own partner; other
// roles are checked by Can alone.
func CanPartner(p *Principal, action Action, partnerID int64) bool {
	if !Can(p, action) {
		return false
	}
	if p.Role == RolePartner {
		return p.PartnerID != 0 && p.PartnerID == partnerID
	}
	return true
}
