package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/services/ingest"
)

// exportedSignature is what `signatures export` prints of a signature: enough
// to count and compare, not the whole record.
type exportedSignature struct {
	ID          string                   `json:"id"`
	Project     string                   `json:"project"`
	Fingerprint string                   `json:"fingerprint"`
	Title       string                   `json:"title"`
	Status      contract.SignatureStatus `json:"status"`
	Occurrences int64                    `json:"occurrences"`
	FirstSeen   time.Time                `json:"first_seen"`
	LastSeen    time.Time                `json:"last_seen"`
}

// signatures is the stand-in for the signatures command to come with the
// management API: only `export`, which reads ingest's state directly and so
// needs ingest stopped. It is left out of the usage.
func signatures(_ context.Context, env Env, args []string) error {
	if len(args) == 0 || args[0] != "export" {
		return usageError("only `signatures export` exists yet (list, show, mute... come with the management API)")
	}
	fs := newFlagSet(env, "signatures export", "signatures export [--data-dir DIR]\n\n"+
		"Prints every signature in ingest's state (DIR/ingest) as a JSON array,\n"+
		"sorted by project and id. Stop ingest first: its state is read directly.")
	dataDir := fs.String("data-dir", filepath.Join(".rounds", "data"), "state: one Badger directory per service, as given to the services")
	operands, err := parse(fs, env, args[1:])
	if err != nil {
		return err
	}
	if len(operands) > 0 {
		return usageError("unexpected arguments: %s", joinUsage(operands))
	}
	dir := filepath.Join(*dataDir, ingest.Name)
	sigs, err := ingest.ReadSignatures(dir, logging.Discard())
	if err != nil {
		return fmt.Errorf("%w (is ingest still running on %s, or was it killed? start it and stop it cleanly first)", err, dir)
	}
	out := make([]exportedSignature, 0, len(sigs))
	for _, s := range sigs {
		out = append(out, exportedSignature{
			ID: s.ID, Project: s.Project, Fingerprint: s.Fingerprint, Title: s.Title,
			Status: s.Status, Occurrences: s.Occurrences, FirstSeen: s.FirstSeen, LastSeen: s.LastSeen,
		})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Project != out[j].Project {
			return out[i].Project < out[j].Project
		}
		return out[i].ID < out[j].ID
	})
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
