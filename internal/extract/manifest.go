package extract

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/axtract/axtract/internal/deliver"
	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/format/fhir"
	"github.com/axtract/axtract/internal/store"
)

// ManifestSuffix ends the name of a run's manifest, after the base name of
// its data files.
const ManifestSuffix = ".manifest.json"

// BulkDataManifestSuffix ends the name of the FHIR Bulk Data manifest that
// runs of fhir feeds deliver next to their own manifest.
const BulkDataManifestSuffix = ".bulkdata.json"

// Manifest is the JSON document delivered after a run's data files. It
// lists names, counts and digests, and no member data, so it is delivered
// without compression or encryption: a partner can check a download before
// decrypting it.
type Manifest struct {
	Feed        string         `json:"feed"`
	Partner     string         `json:"partner"`
	RunID       int64          `json:"run_id"`
	Slot        time.Time      `json:"slot"`
	Window      *Window        `json:"window"`
	Files       []ManifestFile `json:"files"`
	View        string         `json:"view"`
	ViewVersion int32          `json:"view_version"`
	CreatedAt   time.Time      `json:"created_at"`
}

// ManifestFile is one data file in a Manifest. Bytes and SHA256 are those
// of the file as delivered, compressed and encrypted.
type ManifestFile struct {
	Name   string `json:"name"`
	Part   string `json:"part,omitempty"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// writeSidecars writes what follows a run's data files under temporary
// names and appends them to written, for the caller to commit after the
// data: the manifest when the feed has one, the FHIR Bulk Data manifest,
// and the trigger file last.
func (r *Runner) writeSidecars(ctx context.Context, dest deliver.Destination, feed store.FeedByIDRow, pl *plan,
	snap *snapshot, info format.Info, data []File, written *[]writtenPart) error {
	if feed.Manifest {
		body, err := manifestBody(feed, snap, info, data, r.now())
		if err != nil {
			return err
		}
		if err := stageFile(ctx, dest, pl.base+ManifestSuffix, FileManifest, body, written); err != nil {
			return err
		}
	}
	if pl.kind == "fhir" {
		body, err := bulkDataManifest(feed, snap, info, data)
		if err != nil {
			return permanent(err)
		}
		if err := stageFile(ctx, dest, pl.base+BulkDataManifestSuffix, FileManifest, body, written); err != nil {
			return err
		}
	}
	if pl.trigger != "" {
		if err := stageFile(ctx, dest, pl.trigger, FileTrigger, nil, written); err != nil {
			return err
		}
	}
	return nil
}

func manifestBody(feed store.FeedByIDRow, snap *snapshot, info format.Info, data []File, now time.Time) ([]byte, error) {
	m := Manifest{
		Feed:        feed.Name,
		Partner:     feed.PartnerSlug,
		RunID:       info.RunID,
		Slot:        info.Slot.UTC(),
		Window:      snap.window,
		View:        feed.ViewName,
		ViewVersion: feed.ViewVersion,
		CreatedAt:   now.UTC(),
		Files:       []ManifestFile{},
	}
	for _, f := range data {
		m.Files = append(m.Files, ManifestFile{Name: f.Name, Part: f.Part, Rows: f.Rows, Bytes: f.Bytes, SHA256: f.SHA256})
	}
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest of run %d: %w", info.RunID, err)
	}
	return append(body, '\n'), nil
}

// bulkDataManifest returns the FHIR Bulk Data manifest of a run's NDJSON
// files. The URLs are the delivered file names, which the partner resolves
// in the folder it downloads from. A file's count is the resources its
// writer wrote, which differs from its rows: claim lines fold into one
// ExplanationOfBenefit, and rows whose patient is missing are skipped.
func bulkDataManifest(feed store.FeedByIDRow, snap *snapshot, info format.Info, data []File) ([]byte, error) {
	outputs := make([]fhir.Output, 0, len(data))
	for _, f := range data {
		outputs = append(outputs, fhir.Output{Type: f.Part, URL: f.Name, Count: f.counts["resources"]})
	}
	request := fmt.Sprintf("urn:axtract:feed:%s:run:%d", feed.Name, info.RunID)
	return fhir.Manifest(snap.startedAt, request, outputs)
}
