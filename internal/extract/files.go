package extract

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/axtract/axtract/internal/deliver"
	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/pipeline"
	"github.com/axtract/axtract/internal/store"
)

// Kinds of delivered files, as axtract.run_file.kind stores them.
const (
	FileData     = "data"
	FileManifest = "manifest"
	FileTrigger  = "trigger"
)

// File is one file a run delivered.
type File struct {
	Name string
	Kind string // FileData, FileManifest or FileTrigger
	// Part is the part of a multi-file format the file holds, "" otherwise.
	Part string
	// Rows is the number of data rows; 0 for manifests and trigger files.
	Rows   int64
	Bytes  int64
	SHA256 string
	// counts are the format writer's counts, such as rows it left out.
	counts map[string]int64
}

// rowCount returns Rows for a data file and nil for other files, which
// have no rows.
func (f File) rowCount() *int64 {
	if f.Kind != FileData {
		return nil
	}
	return &f.Rows
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// plan is the list of files a run delivers, worked out before its
// snapshot.
type plan struct {
	parts []plannedPart
	// base is the name that manifests and, for a multi-file format, the
	// trigger file are named after.
	base string
	// trigger is the name of the trigger file, "" for none.
	trigger string
	// disclosureViews are the views the run reads, each of which gets a
	// disclosure record.
	disclosureViews []string
	multi           bool
	// kind is the feed's format.
	kind string
}

// setGate makes one part check its rows against gate: the part that reads
// the feed's own view, else the first part. A nil gate checks nothing.
func (pl *plan) setGate(gate *qualityGate, feedView string) {
	if gate == nil {
		return
	}
	checked := 0
	for i, p := range pl.parts {
		if p.view == feedView {
			checked = i
			break
		}
	}
	pl.parts[checked].gate = gate
}

// plannedPart is one data file of a run.
type plannedPart struct {
	name   string
	part   string // "" for a single-file format
	view   string // name in the partner's schema
	format format.Format
	cfg    pipeline.Config
	// orderBy is the part's format.Part.OrderBy.
	orderBy []string
	// gate checks the part's rows before its file is delivered; nil for a
	// part that is not checked.
	gate *qualityGate
}

// newPlan names a run's files. A single-file format reads the feed's view
// into one file. A multi-file format reads each part's view into its own
// file.
func newPlan(feed store.FeedByIDRow, run store.AxtractRun, form format.Format, cfg pipeline.Config) (*plan, error) {
	pl := &plan{disclosureViews: []string{feed.ViewName}, kind: form.Kind()}
	parts := []format.Part{{View: feed.ViewName, Format: form}}
	if multi, ok := form.(format.MultiFormat); ok {
		parts = multi.Parts()
		pl.multi = true
		if len(parts) == 0 {
			return nil, permanent(fmt.Errorf("format %s of feed %s has no parts; check its format_options", feed.Format, feed.Name))
		}
		// Each view the parts read is recorded, once.
		pl.disclosureViews = nil
		for _, p := range parts {
			if !slices.Contains(pl.disclosureViews, p.View) {
				pl.disclosureViews = append(pl.disclosureViews, p.View)
			}
		}
	}

	seen := map[string]bool{}
	for _, p := range parts {
		if pl.multi {
			if err := deliver.ValidateName(p.Name); err != nil {
				return nil, permanent(fmt.Errorf("part name of format %s: %w", feed.Format, err))
			}
		}
		name := DataFileName(feed.FileName, p.Format.Extension(), p.Name, feed.Name, feed.PartnerSlug, run.Slot, run.RunID)
		partCfg := cfg
		if partCfg.Compression == pipeline.CompressionZip {
			partCfg.ZipEntry = name
		}
		name += pipeline.Extension(partCfg)
		if err := deliver.ValidateName(name); err != nil {
			return nil, permanent(fmt.Errorf("file name template %q of feed %s: %w", feed.FileName, feed.Name, err))
		}
		if seen[name] {
			return nil, permanent(fmt.Errorf("file name template %q of feed %s gives two parts the name %s; add {part} to it",
				feed.FileName, feed.Name, name))
		}
		seen[name] = true
		pl.parts = append(pl.parts, plannedPart{name: name, part: p.Name, view: p.View, format: p.Format, cfg: partCfg, orderBy: p.OrderBy})
	}

	pl.base = BaseName(feed.FileName, form.Extension(), feed.Name, feed.PartnerSlug, run.Slot, run.RunID)
	if feed.TriggerSuffix != nil {
		pl.trigger = pl.parts[0].name + *feed.TriggerSuffix
		if pl.multi {
			pl.trigger = pl.base + *feed.TriggerSuffix
		}
	}
	return pl, nil
}

// FileName expands a feed's file name template: {feed}, {partner}, {run}
// and {slot}. A slot prints in UTC as 20060102T150405Z, with microseconds
// (20060102T150405.000123Z) when it has a fraction, as on-demand runs do, so
// two runs of one feed never share a name unless the template drops {slot}.
// {part} is left as it is; DataFileName expands it.
func FileName(template, feed, partner string, slot time.Time, runID int64) string {
	slotText := slot.UTC().Format("20060102T150405Z")
	if slot.Nanosecond() != 0 {
		slotText = slot.UTC().Format("20060102T150405.000000Z")
	}
	return strings.NewReplacer(
		"{feed}", feed,
		"{partner}", partner,
		"{run}", strconv.FormatInt(runID, 10),
		"{slot}", slotText,
	).Replace(template)
}

// DataFileName returns the name of a data file before the packaging suffix
// (".zst", ".pgp" and so on) is appended:
//
//  1. The template is expanded as FileName does.
//  2. A name ending in ".csv", as the default template {feed}_{slot}.csv
//     does, gets the format's extension in its place, such as ".ndjson".
//  3. For a part of a multi-file format, {part} expands to the part's name.
//     A template without {part} gets "_" and the part's name before the
//     extension: {feed}_{slot}.ndjson gives f_20261204T060000Z_Patient.ndjson.
func DataFileName(template, ext, part, feed, partner string, slot time.Time, runID int64) string {
	name := FileName(template, feed, partner, slot, runID)
	if ext != ".csv" && strings.HasSuffix(name, ".csv") {
		name = strings.TrimSuffix(name, ".csv") + ext
	}
	if part == "" {
		return strings.ReplaceAll(name, "{part}", "")
	}
	if strings.Contains(template, "{part}") {
		return strings.ReplaceAll(name, "{part}", part)
	}
	if stem, ok := strings.CutSuffix(name, ext); ok && ext != "" {
		return stem + "_" + part + ext
	}
	return name + "_" + part
}

// BaseName returns the name a run's manifest is named after: the expanded
// template without {part}, without the format's extension (or ".csv"), and
// without separators left at its end. {feed}_{slot}_{part}.ndjson gives
// f_20261204T060000Z, and the manifest is f_20261204T060000Z.manifest.json.
func BaseName(template, ext, feed, partner string, slot time.Time, runID int64) string {
	name := FileName(strings.ReplaceAll(template, "{part}", ""), feed, partner, slot, runID)
	if stem, ok := strings.CutSuffix(name, ext); ok && ext != "" {
		name = stem
	}
	name = strings.TrimSuffix(name, ".csv")
	name = strings.TrimRight(name, "_-.")
	if name == "" {
		name = FileName("{feed}_{slot}", feed, partner, slot, runID)
	}
	return name
}
