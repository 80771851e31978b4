package graph

import (
	"encoding/json"
	"time"

	"github.com/axtract/axtract/graph/generated"
	"github.com/axtract/axtract/graph/model"
)

// Lists without a size argument cost as if they held unboundedListCost
// items. They are short in practice (a partner's views, a run's files, a
// dataset's columns). The factor still bounds a query that nests them
// inside large pages.
const unboundedListCost = 10

// listCost is the cost of a list field of n items whose items cost child.
// n is the page size the client asked for, capped at what the resolver
// returns at most, so a huge first costs what it could return.
func listCost(child int, n *int, ceiling int) int {
	size := ceiling
	if n != nil && *n >= 0 && *n < ceiling {
		size = *n
	}
	return 1 + size*max(child, 1)
}

func pageCost(child int, first *int) int { return listCost(child, first, maxPageSize) }

func fixedListCost(child int) int { return 1 + unboundedListCost*max(child, 1) }

// newComplexity returns the complexity functions of every list field.
// TestComplexityCoversLists checks that each list field of the schema has one.
func newComplexity() generated.ComplexityRoot {
	var c generated.ComplexityRoot

	c.Query.Partners = func(child int, first *int, _ *string) int { return pageCost(child, first) }
	c.Query.Feeds = func(child int, _ *string, first *int, _ *string) int { return pageCost(child, first) }
	c.Query.Runs = func(child int, _ *string, _ []model.RunStatus, first *int, _ *string) int {
		return pageCost(child, first)
	}
	c.Query.PartnerDisclosures = func(child int, _ string, _, _ time.Time, first *int, _ *string) int {
		return pageCost(child, first)
	}
	c.Query.Requests = func(child int, _ []model.RequestStatus, first *int, _ *string) int { return pageCost(child, first) }
	c.Query.AuditEvents = func(child int, _, _, _ *string, first *int, _ *string) int { return pageCost(child, first) }
	c.Query.ViewPreview = func(child int, _ string, _ json.RawMessage, limit *int) int {
		// A preview runs the view: a fixed cost for the transaction, its
		// fields once, and one per row. The rows are lists of scalars, so
		// the other fields do not grow with them.
		rows := defaultPreviewRows
		if limit != nil && *limit >= 0 && *limit <= maxPreviewRows {
			rows = *limit
		}
		return 50 + child + rows
	}
	c.Query.Datasets = func(child int) int { return fixedListCost(child) }
	c.Query.Calendars = func(child int) int { return fixedListCost(child) }
	c.Query.SchedulePreview = func(child int, _ string, _, _, _ *string, count *int) int {
		return listCost(child, count, maxNextRuns)
	}
	c.Query.MemberDisclosures = func(child int, _ string) int { return fixedListCost(child) }
	c.Query.RequestTemplates = func(child int) int { return fixedListCost(child) }

	c.Partner.Feeds = func(child int, first *int, _ *string) int { return pageCost(child, first) }
	c.Partner.Runs = func(child int, _ []model.RunStatus, first *int, _ *string) int { return pageCost(child, first) }
	c.Partner.Consents = func(child int, first *int, _ *string) int { return pageCost(child, first) }
	c.Partner.Views = func(child int) int { return fixedListCost(child) }
	c.Partner.Destinations = func(child int) int { return fixedListCost(child) }
	c.Partner.Keys = func(child int) int { return fixedListCost(child) }
	c.Partner.Logins = func(child int) int { return fixedListCost(child) }
	c.Partner.DataUseAgreements = func(child int) int { return fixedListCost(child) }
	c.Partner.ColumnExceptions = func(child int, _ *bool) int { return fixedListCost(child) }

	c.Feed.Runs = func(child int, _ []model.RunStatus, first *int, _ *string) int { return pageCost(child, first) }
	c.Feed.NextRuns = func(child int, count *int) int { return listCost(child, count, maxNextRuns) }
	c.Feed.Events = func(child int) int { return fixedListCost(child) }

	c.Run.Files = func(child int) int { return fixedListCost(child) }
	c.RunQuality.Violations = func(child int) int { return fixedListCost(child) }
	// A quality result measures every column of the view, like a dataset.
	c.RunQuality.Columns = func(child int) int { return 1 + 4*unboundedListCost*max(child, 1) }
	c.RunQuality.Skipped = func(child int) int { return fixedListCost(child) }
	c.Dataset.Columns = func(child int) int { return 1 + 4*unboundedListCost*max(child, 1) }
	c.View.Versions = func(child int) int { return fixedListCost(child) }
	c.View.Validation = func(child int) int { return 20 + child }
	c.Request.Validation = func(child int) int { return 20 + child }
	c.Calendar.Days = func(child int, _, _ time.Time) int { return 1 + 50*max(child, 1) }
	c.Calendar.Weekend = func(child int) int { return 1 + child }

	c.Dashboard.Attention = func(child int, first *int) int { return pageCost(child, first) }
	c.Dashboard.RecentRuns = func(child int, first *int) int { return listCost(child, first, maxDashboardRuns) }
	c.Dashboard.Running = func(child int) int { return fixedListCost(child) }
	c.Dashboard.RunsByStatus = func(child int) int { return 1 + len(model.AllRunStatuses)*max(child, 1) }
	return c
}

// Ceilings of list sizes, shared by the resolvers and the costs above.
const (
	maxPageSize    = 100
	maxPreviewRows = 500
	// defaultPreviewRows is the number of rows a preview without a limit
	// returns.
	defaultPreviewRows = 20
	maxNextRuns        = 100
	maxDashboardRuns   = 200
)
