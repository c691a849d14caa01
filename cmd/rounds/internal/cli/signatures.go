package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rounds-dev/rounds/pkg/client"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/pkg/messaging"
	"github.com/rounds-dev/rounds/services/ingest"
)

// signatureCommands are the subcommands of `rounds signatures`.
var signatureCommands = []struct{ name, summary string }{
	{"list", "list signatures (filter by project, status, flaky, tag; sort by last seen, count, id)"},
	{"show", "show a signature with its lifecycle and audit"},
	{"mute", "mute a signature: --for/--until a time, --occurrences N more, or forever"},
	{"unmute", "end a signature's mute"},
	{"resolve", "resolve a signature, --in-commit X when the fix is known"},
	{"reopen", "reopen a resolved signature"},
	{"retriage", "ask diagnose to diagnose a signature again now"},
	{"tag", "add (--add) and remove (--remove) a signature's tags"},
	{"export", "write every signature with its occurrences as JSON"},
}

// signatures manages signatures through the management API ingest serves
// over NATS; export can also read a stopped ingest's state (--data-dir).
func signatures(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		var b strings.Builder
		b.WriteString("Usage: rounds signatures <command> [flags]\n\nCommands:\n")
		for _, c := range signatureCommands {
			fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
		}
		b.WriteString("\nA signature is named by its id, PROJECT/ID, or a unique prefix of its id.\n" +
			"rounds signatures <command> --help lists a command's flags.\n")
		if len(args) == 0 {
			return usageError("a command is required\n\n%s", b.String())
		}
		fmt.Fprint(env.Stdout, b.String())
		return nil
	}
	switch args[0] {
	case "list":
		return signaturesList(ctx, env, args[1:])
	case "show":
		return signaturesShow(ctx, env, args[1:])
	case "mute", "unmute", "resolve", "reopen", "retriage", "tag":
		return signaturesChange(ctx, env, args[0], args[1:])
	case "export":
		return signaturesExport(ctx, env, args[1:])
	}
	return usageError("unknown command %q: want list, show, mute, unmute, resolve, reopen, retriage, tag or export", args[0])
}

// manageFlags are the flags every online subcommand has.
type manageFlags struct {
	url     *string
	timeout *time.Duration
	asJSON  *bool
}

func addManageFlags(fs *flag.FlagSet) manageFlags {
	return manageFlags{
		url:     natsURLFlag(fs),
		timeout: fs.Duration("timeout", 30*time.Second, "how long to wait for NATS and for ingest's answer"),
		asJSON:  fs.Bool("json", false, "print JSON (for scripts) rather than a table"),
	}
}

// connect connects to NATS and returns the management client; close it
// with the returned function.
func (f manageFlags) connect(ctx context.Context, name string) (*client.Signatures, func(), error) {
	nc, err := messaging.Connect(ctx, *f.url, "rounds-signatures-"+name, *f.timeout, logging.Discard())
	if err != nil {
		return nil, nil, err
	}
	return client.NewSignatures(nc), nc.Close, nil
}

// optionalBool is a boolean flag that tells "not given" from false.
type optionalBool struct{ v *bool }

func (o *optionalBool) String() string {
	if o == nil || o.v == nil {
		return ""
	}
	return strconv.FormatBool(*o.v)
}

func (o *optionalBool) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	o.v = &b
	return nil
}

func (o *optionalBool) IsBoolFlag() bool { return true }

func signaturesList(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "signatures list", "signatures list [--project P] [--status S] [--flaky[=false]] [--tag T] [--sort last_seen|count|id] [--limit N] [--json]\n\n"+
		"Lists the signatures ingest holds, most recently seen first.")
	mf := addManageFlags(fs)
	project := fs.String("project", "", "only this project's signatures")
	status := fs.String("status", "", "only signatures with this status: new, diagnosing, diagnosed, resolved, muted, regressed")
	var flaky optionalBool
	fs.Var(&flaky, "flaky", "only flaky signatures (--flaky=false: only those that are not)")
	tag := fs.String("tag", "", "only signatures with this tag")
	sort := fs.String("sort", string(contract.SortLastSeen), "order: last_seen (most recent first), count (most first) or id")
	limit := fs.Int("limit", 0, "at most this many signatures (0: all)")
	operands, err := parse(fs, env, args)
	if err != nil {
		return err
	}
	if len(operands) > 0 {
		return usageError("unexpected arguments: %s", joinUsage(operands))
	}
	req := contract.ListRequest{
		Project: *project, Status: contract.SignatureStatus(*status), Flaky: flaky.v, Tag: *tag,
		Sort: contract.ListSort(*sort), Limit: *limit,
	}
	if err := req.Validate(); err != nil {
		return usageError("%v", err)
	}
	c, closeConn, err := mf.connect(ctx, "list")
	if err != nil {
		return err
	}
	defer closeConn()
	reply, err := c.List(ctx, req)
	if err != nil {
		return err
	}
	if *mf.asJSON {
		return writeJSON(env.Stdout, reply)
	}
	printList(env.Stdout, reply)
	return nil
}

func printList(w io.Writer, reply contract.ListReply) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPROJECT\tSTATUS\tFLAKY\tCOUNT\tLAST SEEN\tTITLE")
	for _, s := range reply.Signatures {
		flaky := ""
		if s.Flaky {
			flaky = "flaky"
		}
		title := oneLine(s.Title)
		if len(title) > 72 {
			title = title[:69] + "..."
		}
		if len(s.Tags) > 0 {
			title += " [" + strings.Join(s.Tags, " ") + "]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", s.ID, s.Project, s.Status, flaky, s.Count, s.LastSeen.UTC().Format(time.RFC3339), title)
	}
	tw.Flush()
	shown := fmt.Sprintf("%d signature%s", reply.Total, pluralS(reply.Total))
	if len(reply.Signatures) < reply.Total {
		shown = fmt.Sprintf("%d of %d signatures", len(reply.Signatures), reply.Total)
	}
	fmt.Fprintf(w, "\n%s%s\n", shown, byStatus(reply.ByStatus))
}

// byStatus writes counts by status in the lifecycle's order: ": 3 new, 1 muted".
func byStatus(counts map[contract.SignatureStatus]int) string {
	var parts []string
	for _, st := range []contract.SignatureStatus{contract.StatusNew, contract.StatusDiagnosing, contract.StatusDiagnosed, contract.StatusRegressed, contract.StatusMuted, contract.StatusResolved} {
		if n := counts[st]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, st))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, ", ")
}

func pluralS(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// resolveRef names the signature an operand designates: PROJECT/ID, or an
// id or a unique prefix of one (of --project's signatures when given),
// looked up with list.
func resolveRef(ctx context.Context, c *client.Signatures, project, operand string) (contract.SignatureRef, error) {
	if p, id, ok := strings.Cut(operand, "/"); ok {
		return contract.SignatureRef{Project: p, ID: id}, nil
	}
	if operand == "" {
		return contract.SignatureRef{}, usageError("a signature id is required")
	}
	all, err := c.List(ctx, contract.ListRequest{Project: project, Sort: contract.SortID})
	if err != nil {
		return contract.SignatureRef{}, err
	}
	var found []contract.SignatureRef
	for _, s := range all.Signatures {
		if s.ID == operand {
			found = []contract.SignatureRef{{Project: s.Project, ID: s.ID}}
			break
		}
		if strings.HasPrefix(s.ID, operand) {
			found = append(found, contract.SignatureRef{Project: s.Project, ID: s.ID})
		}
	}
	switch len(found) {
	case 0:
		return contract.SignatureRef{}, &contract.ManageError{Code: contract.ManageCodeNotFound, Message: fmt.Sprintf("no signature has the id %q", operand)}
	case 1:
		return found[0], nil
	}
	names := make([]string, 0, len(found))
	for _, r := range found {
		names = append(names, r.Project+"/"+r.ID)
	}
	return contract.SignatureRef{}, usageError("%q names %d signatures (%s): give more of the id, or PROJECT/ID", operand, len(found), joinUsage(names))
}

func oneOperand(operands []string, what string) (string, error) {
	switch len(operands) {
	case 0:
		return "", usageError("%s is required", what)
	case 1:
		return operands[0], nil
	}
	return "", usageError("unexpected arguments: %s", joinUsage(operands[1:]))
}

func signaturesShow(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "signatures show", "signatures show [--project P] ID|PROJECT/ID [--json]\n\n"+
		"Shows a signature: its counts, lifecycle, tags and audit.")
	mf := addManageFlags(fs)
	project := fs.String("project", "", "the signature's project (when ID is not PROJECT/ID)")
	operands, err := parse(fs, env, args)
	if err != nil {
		return err
	}
	operand, err := oneOperand(operands, "a signature id")
	if err != nil {
		return err
	}
	c, closeConn, err := mf.connect(ctx, "show")
	if err != nil {
		return err
	}
	defer closeConn()
	ref, err := resolveRef(ctx, c, *project, operand)
	if err != nil {
		return err
	}
	d, err := c.Show(ctx, ref)
	if err != nil {
		return err
	}
	if *mf.asJSON {
		return writeJSON(env.Stdout, d)
	}
	printDetail(env.Stdout, &d)
	return nil
}

func printDetail(w io.Writer, d *contract.SignatureDetail) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	row("Signature", d.Project+"/"+d.ID)
	row("Title", oneLine(d.Title))
	row("Status", string(d.Status))
	row("Count", strconv.FormatInt(d.Occurrences, 10))
	row("First seen", d.FirstSeen.UTC().Format(time.RFC3339)+commitSuffix(d.FirstCommit))
	row("Last seen", d.LastSeen.UTC().Format(time.RFC3339)+commitSuffix(d.LastCommit))
	if d.Test != nil {
		row("Test", strings.TrimPrefix(d.Test.Suite+"."+d.Test.Name, "."))
	}
	row("Error type", d.ErrorType)
	if d.Flaky {
		row("Flaky", "yes: "+d.FlakyReason)
	}
	if fr := d.FailureRate; fr != nil {
		row("Failure rate", fmt.Sprintf("failed on %d of %d commits", fr.Failed, fr.Commits))
	}
	if d.Regressed {
		row("Regressed", "yes")
	}
	row("Tags", strings.Join(d.Tags, " "))
	if m := d.Mute; m != nil {
		terms := "until unmuted"
		switch {
		case !m.Until.IsZero() && m.UntilCount > 0:
			terms = fmt.Sprintf("until %s or count %d", m.Until.UTC().Format(time.RFC3339), m.UntilCount)
		case !m.Until.IsZero():
			terms = "until " + m.Until.UTC().Format(time.RFC3339)
		case m.UntilCount > 0:
			terms = fmt.Sprintf("until count %d", m.UntilCount)
		}
		row("Muted", fmt.Sprintf("%s, by %s%s", terms, m.By, reasonSuffix(m.Reason)))
	}
	if r := d.Resolution; r != nil {
		how := "resolved " + r.At.UTC().Format(time.RFC3339)
		if r.Commit != "" {
			how += " in " + r.Commit
		}
		if r.Auto {
			how += " (automatically)"
		}
		row("Resolved", how)
	}
	if d.FingerprintVersion > 0 {
		row("Fingerprint", fmt.Sprintf("%s (algorithm v%d)", d.Fingerprint, d.FingerprintVersion))
	} else {
		row("Fingerprint", d.Fingerprint)
	}
	tw.Flush()
	// Why occurrences group here: every value the fingerprint was made of,
	// a grouping rule's among them.
	if len(d.Components) > 0 {
		fmt.Fprintln(w, "\nGrouped by:")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, c := range d.Components {
			fmt.Fprintf(tw, "  %s\t%s\n", c.Name, oneLine(c.Value))
		}
		tw.Flush()
	}
	if len(d.Audit) == 0 {
		return
	}
	fmt.Fprintln(w, "\nAudit:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\tWHEN\tWHO\tACTION\tSTATUS\tREASON")
	for _, a := range d.Audit {
		st := string(a.To)
		if a.From != a.To {
			st = string(a.From) + " -> " + string(a.To)
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\n", a.Seq, a.At.UTC().Format(time.RFC3339), a.Actor, a.Action, st, oneLine(a.Reason))
	}
	tw.Flush()
}

func commitSuffix(c string) string {
	if c == "" {
		return ""
	}
	return " on " + c
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return ": " + oneLine(r)
}

// signaturesChange runs mute, unmute, resolve, reopen, retriage and tag.
func signaturesChange(ctx context.Context, env Env, op string, args []string) error {
	synopsis := map[string]string{
		"mute":     "signatures mute ID|PROJECT/ID [--for D | --until T] [--occurrences N] [--reason R]\n\nMutes a signature: counted but not announced (nor diagnosed) until the time, the count or `unmute`.",
		"unmute":   "signatures unmute ID|PROJECT/ID [--reason R]\n\nEnds a signature's mute: it goes back to the status it had.",
		"resolve":  "signatures resolve ID|PROJECT/ID [--in-commit X] [--reason R]\n\nResolves a signature. With --in-commit, an occurrence on X leaves it resolved; one on a later commit is a regression.",
		"reopen":   "signatures reopen ID|PROJECT/ID [--reason R]\n\nReopens a resolved signature.",
		"retriage": "signatures retriage ID|PROJECT/ID [--reason R]\n\nAsks diagnose to diagnose the signature again now, whatever its cooldown.",
		"tag":      "signatures tag ID|PROJECT/ID [--add T,U] [--remove V] [--reason R]\n\nAdds and removes tags (1-64 of A-Z a-z 0-9 - _ . : /).",
	}[op]
	fs := newFlagSet(env, "signatures "+op, synopsis)
	mf := addManageFlags(fs)
	project := fs.String("project", "", "the signature's project (when ID is not PROJECT/ID)")
	by := fs.String("by", "", "who makes the change, for the audit (default: $USER)")
	reason := fs.String("reason", "", "why, for the audit")
	var (
		forDur      *time.Duration
		until       *string
		occurrences *int64
		inCommit    *string
		add, remove *string
	)
	switch op {
	case "mute":
		forDur = fs.Duration("for", 0, "mute for this long, such as 2h or 168h (0: no end in time)")
		until = fs.String("until", "", "mute until this time, RFC 3339 (2026-12-01T09:00:00Z)")
		occurrences = fs.Int64("occurrences", 0, "mute until this many more occurrences have come (0: no end in count)")
	case "resolve":
		inCommit = fs.String("in-commit", "", "the commit the fix is in")
	case "tag":
		add = fs.String("add", "", "tags to add, comma separated")
		remove = fs.String("remove", "", "tags to remove, comma separated")
	}
	operands, err := parse(fs, env, args)
	if err != nil {
		return err
	}
	operand, err := oneOperand(operands, "a signature id")
	if err != nil {
		return err
	}
	who := contract.ChangedBy{By: *by, Reason: *reason}
	if who.By == "" {
		who.By, _ = env.Lookup("USER")
	}
	if who.By == "" {
		return usageError("--by is required (who makes the change, for the audit): $USER is not set")
	}
	if err := who.Validate(); err != nil {
		return usageError("%v", err)
	}
	var muteUntil time.Time
	if op == "mute" {
		switch {
		case *forDur < 0:
			return usageError("--for must not be negative")
		case *forDur > 0 && *until != "":
			return usageError("give --for or --until, not both")
		case *forDur > 0:
			muteUntil = time.Now().Add(*forDur)
		case *until != "":
			if muteUntil, err = time.Parse(time.RFC3339, *until); err != nil {
				return usageError("--until %q: want RFC 3339, such as 2026-12-01T09:00:00Z", *until)
			}
		}
		if *occurrences < 0 {
			return usageError("--occurrences must not be negative")
		}
	}
	var tagsAdd, tagsRemove []string
	if op == "tag" {
		tagsAdd, tagsRemove = splitTags(*add), splitTags(*remove)
		if len(tagsAdd) == 0 && len(tagsRemove) == 0 {
			return usageError("give --add or --remove")
		}
		for _, t := range slices.Concat(tagsAdd, tagsRemove) {
			if !contract.ValidTag(t) {
				return usageError("tag %q: use 1-64 of A-Z a-z 0-9 - _ . : /", t)
			}
		}
	}
	c, closeConn, err := mf.connect(ctx, op)
	if err != nil {
		return err
	}
	defer closeConn()
	ref, err := resolveRef(ctx, c, *project, operand)
	if err != nil {
		return err
	}
	var d contract.SignatureDetail
	switch op {
	case "mute":
		d, err = c.Mute(ctx, contract.MuteRequest{SignatureRef: ref, ChangedBy: who, Until: muteUntil, Occurrences: *occurrences})
	case "unmute":
		d, err = c.Unmute(ctx, contract.UnmuteRequest{SignatureRef: ref, ChangedBy: who})
	case "resolve":
		d, err = c.Resolve(ctx, contract.ResolveRequest{SignatureRef: ref, ChangedBy: who, InCommit: *inCommit})
	case "reopen":
		d, err = c.Reopen(ctx, contract.ReopenRequest{SignatureRef: ref, ChangedBy: who})
	case "retriage":
		d, err = c.Retriage(ctx, contract.RetriageRequest{SignatureRef: ref, ChangedBy: who})
	case "tag":
		d, err = c.Tag(ctx, contract.TagRequest{SignatureRef: ref, ChangedBy: who, Add: tagsAdd, Remove: tagsRemove})
	}
	if err != nil {
		return err
	}
	if *mf.asJSON {
		return writeJSON(env.Stdout, d)
	}
	fmt.Fprintf(env.Stdout, "%s/%s: %s", d.Project, d.ID, d.Status)
	if n := len(d.Audit); n > 0 {
		a := d.Audit[n-1]
		fmt.Fprintf(env.Stdout, " (%s by %s%s)", a.Action, a.Actor, reasonSuffix(a.Reason))
	}
	if op == "tag" {
		fmt.Fprintf(env.Stdout, "; tags: %s", strings.Join(d.Tags, " "))
	}
	fmt.Fprintln(env.Stdout)
	return nil
}

func splitTags(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// signaturesExport writes every signature with its occurrences as one JSON
// array, from the running ingest or, with --data-dir on the command line,
// from a stopped ingest's state.
func signaturesExport(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "signatures export", "signatures export [--project P] [--nats-url URL | --data-dir DIR]\n\n"+
		"Writes every signature with its occurrences as a JSON array, by project and id:\n"+
		"id, fingerprint, project, title, status, flaky, count, first_seen, last_seen, tags\n"+
		"and occurrences (event_id, run_id, commit, time, test). It asks the running ingest;\n"+
		"with --data-dir given on the command line it reads ingest's state (DIR/ingest)\n"+
		"directly instead, which needs ingest stopped.")
	url := natsURLFlag(fs)
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for NATS and for each page from ingest")
	project := fs.String("project", "", "only this project's signatures")
	dataDir := fs.String("data-dir", filepath.Join(".rounds", "data"), "read this state directly (one Badger directory per service) rather than ask ingest")
	offline := givenOnCommandLine(args, "data-dir")
	operands, err := parse(fs, env, args)
	if err != nil {
		return err
	}
	if len(operands) > 0 {
		return usageError("unexpected arguments: %s", joinUsage(operands))
	}
	if *project != "" && !contract.ValidToken(*project) {
		return usageError("--project %q: use 1-64 of A-Z a-z 0-9 - _", *project)
	}
	out := newArrayWriter(env.Stdout)
	if offline {
		if err := exportOffline(filepath.Join(*dataDir, ingest.Name), *project, out.write); err != nil {
			return err
		}
		return out.close()
	}
	nc, err := messaging.Connect(ctx, *url, "rounds-signatures-export", *timeout, logging.Discard())
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := client.NewSignatures(nc).Export(ctx, *project, out.write); err != nil {
		return err
	}
	return out.close()
}

// givenOnCommandLine reports whether args set the flag name (not the
// environment: the images set ROUNDS_DATA_DIR for the services).
func givenOnCommandLine(args []string, name string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		a = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// exportOffline reads the signatures and their occurrences from a stopped
// ingest's state.
func exportOffline(dir, project string, fn func(contract.ExportedSignature) error) error {
	recs, err := ingest.ReadRecords(dir, logging.Discard())
	if err != nil {
		return fmt.Errorf("%w (is ingest still running on %s, or was it killed? stop it cleanly first, or leave out --data-dir to ask the running ingest)", err, dir)
	}
	type key struct{ project, id string }
	sigs := make(map[key]*contract.ExportedSignature, len(recs))
	keys := make([]key, 0, len(recs))
	for i := range recs {
		r := &recs[i]
		if project != "" && r.Project != project {
			continue
		}
		e := contract.ExportedSignature{
			ID: r.ID, Fingerprint: r.Fingerprint, Project: r.Project, Title: r.Title, Status: r.Status,
			Flaky: r.Flaky, Count: r.Occurrences, FirstSeen: r.FirstSeen, LastSeen: r.LastSeen,
			Tags: r.Tags, Occurrences: []contract.Occurrence{},
		}
		k := key{r.Project, r.ID}
		sigs[k] = &e
		keys = append(keys, k)
	}
	err = ingest.ReadOccurrences(dir, logging.Discard(), func(p, id string, o contract.Occurrence) error {
		if e := sigs[key{p, id}]; e != nil {
			e.Occurrences = append(e.Occurrences, o)
		}
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := strings.Compare(a.project, b.project); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	for _, k := range keys {
		if err := fn(*sigs[k]); err != nil {
			return err
		}
	}
	return nil
}

// arrayWriter writes a JSON array one element at a time, so that a large
// export is not held in memory twice.
type arrayWriter struct {
	w io.Writer
	n int
}

func newArrayWriter(w io.Writer) *arrayWriter { return &arrayWriter{w: w} }

func (a *arrayWriter) write(v contract.ExportedSignature) error {
	data, err := json.MarshalIndent(v, "  ", "  ")
	if err != nil {
		return fmt.Errorf("encode signature %s: %w", v.ID, err)
	}
	sep := ",\n  "
	if a.n == 0 {
		sep = "[\n  "
	}
	a.n++
	if _, err := io.WriteString(a.w, sep); err != nil {
		return err
	}
	_, err = a.w.Write(data)
	return err
}

func (a *arrayWriter) close() error {
	end := "\n]\n"
	if a.n == 0 {
		end = "[]\n"
	}
	_, err := io.WriteString(a.w, end)
	return err
}
