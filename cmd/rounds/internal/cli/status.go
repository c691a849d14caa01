package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
	"github.com/rounds-dev/rounds/pkg/client"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/pkg/messaging"
)

// statusReport is what `rounds status` prints.
type statusReport struct {
	// Services are the micro services that answered $SRV.INFO.
	Services []serviceStatus `json:"services"`
	Streams  []streamStatus  `json:"streams"`
	// Deadletters counts dead-lettered messages by the service that gave
	// up on them.
	Deadletters map[string]uint64 `json:"deadletters"`
	// Signatures counts signatures by status; nil when ingest did not
	// answer (SignaturesError says why).
	Signatures      map[contract.SignatureStatus]int `json:"signatures,omitempty"`
	SignaturesTotal int                              `json:"signatures_total"`
	SignaturesError string                           `json:"signatures_error,omitempty"`
}

type serviceStatus struct {
	Name        string `json:"name"`
	ID          string `json:"id"`
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
	Endpoints   int    `json:"endpoints"`
	Requests    int    `json:"requests"`
	Errors      int    `json:"errors"`
	// Ready is what a Rounds service instance says of itself in its stats
	// (contract.ServiceStatus); nil for a service that does not say.
	Ready   *bool  `json:"ready,omitempty"`
	Problem string `json:"problem,omitempty"`
}

type streamStatus struct {
	Name      string           `json:"name"`
	Messages  uint64           `json:"messages"`
	Bytes     uint64           `json:"bytes"`
	Consumers []consumerStatus `json:"consumers"`
	Missing   bool             `json:"missing,omitempty"`
}

type consumerStatus struct {
	Name string `json:"name"`
	// Pending are the messages not delivered yet: the lag.
	Pending uint64 `json:"num_pending"`
	// AckPending are delivered and not acknowledged yet.
	AckPending  int `json:"num_ack_pending"`
	Redelivered int `json:"num_redelivered"`
	// Waiting counts pull requests waiting: a consumer someone reads.
	Waiting int `json:"num_waiting"`
}

// roundsStreams are the streams status reports on, in the flow's order.
var roundsStreams = []string{
	contract.StreamFailures, contract.StreamRuns, contract.StreamSignatures,
	contract.StreamDiagnoses, contract.StreamReports, contract.StreamDeadletter,
}

// status prints what runs: the micro services, the streams with their
// consumers' lag, the dead letters and the signatures by status.
func status(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "status", "status [--nats-url URL] [--json]\n\n"+
		"Shows the services that answer (NATS micro discovery), each stream with its\n"+
		"consumers' lag, the dead-lettered messages by service, and the signatures by status.")
	url := natsURLFlag(fs)
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for NATS and for answers")
	wait := fs.Duration("discovery-wait", 500*time.Millisecond, "how long to collect the services' answers")
	asJSON := fs.Bool("json", false, "print JSON (for scripts)")
	operands, err := parse(fs, env, args)
	if err != nil {
		return err
	}
	if len(operands) > 0 {
		return usageError("unexpected arguments: %s", joinUsage(operands))
	}
	nc, err := messaging.Connect(ctx, *url, "rounds-status", *timeout, logging.Discard())
	if err != nil {
		return err
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	rep, err := gatherStatus(ctx, nc, *wait)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, rep)
	}
	printStatus(env.Stdout, rep)
	return nil
}

func gatherStatus(ctx context.Context, nc *nats.Conn, wait time.Duration) (statusReport, error) {
	rep := statusReport{Deadletters: map[string]uint64{}}
	services, err := discover(ctx, nc, wait)
	if err != nil {
		return rep, err
	}
	rep.Services = services
	js, err := jetstream.New(nc)
	if err != nil {
		return rep, fmt.Errorf("jetstream: %w", err)
	}
	for _, name := range roundsStreams {
		ss, err := streamState(ctx, js, name)
		if err != nil {
			return rep, err
		}
		rep.Streams = append(rep.Streams, ss)
	}
	if err := deadletters(ctx, js, rep.Deadletters); err != nil {
		return rep, err
	}
	list, err := client.NewSignatures(nc).List(ctx, contract.ListRequest{Limit: 1})
	if err != nil {
		rep.SignaturesError = err.Error()
	} else {
		rep.Signatures, rep.SignaturesTotal = list.ByStatus, list.Total
	}
	return rep, nil
}

// discover asks every micro service for its info and stats, and gathers
// the answers that come within wait.
func discover(ctx context.Context, nc *nats.Conn, wait time.Duration) ([]serviceStatus, error) {
	infos, err := collect[micro.Info](ctx, nc, "$SRV.INFO", wait)
	if err != nil {
		return nil, err
	}
	stats, err := collect[micro.Stats](ctx, nc, "$SRV.STATS", wait)
	if err != nil {
		return nil, err
	}
	byID := map[string]micro.Stats{}
	for _, s := range stats {
		byID[s.ID] = s
	}
	out := make([]serviceStatus, 0, len(infos))
	for _, in := range infos {
		s := serviceStatus{Name: in.Name, ID: in.ID, Version: in.Version, Description: in.Description, Endpoints: len(in.Endpoints)}
		for _, e := range byID[in.ID].Endpoints {
			s.Requests += e.NumRequests
			s.Errors += e.NumErrors
			var st contract.ServiceStatus
			if len(e.Data) > 0 && json.Unmarshal(e.Data, &st) == nil && st.Service != "" {
				s.Ready, s.Problem = &st.Ready, st.Problem
			}
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b serviceStatus) int {
		return strings.Compare(a.Name+"/"+a.ID, b.Name+"/"+b.ID)
	})
	return out, nil
}

// collect sends a request to subject and decodes every reply that comes
// within wait (every instance of every service answers).
func collect[T any](ctx context.Context, nc *nats.Conn, subject string, wait time.Duration) ([]T, error) {
	inbox := nc.NewRespInbox()
	replies := make(chan *nats.Msg, 64)
	sub, err := nc.ChanSubscribe(inbox, replies)
	if err != nil {
		return nil, fmt.Errorf("subscribe to %s replies: %w", subject, err)
	}
	defer sub.Unsubscribe()
	if err := nc.PublishRequest(subject, inbox, nil); err != nil {
		return nil, fmt.Errorf("request %s: %w", subject, err)
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	var out []T
	for {
		select {
		case m := <-replies:
			var v T
			if json.Unmarshal(m.Data, &v) == nil {
				out = append(out, v)
			}
		case <-deadline.C:
			return out, nil
		case <-ctx.Done():
			return out, nil
		}
	}
}

func streamState(ctx context.Context, js jetstream.JetStream, name string) (streamStatus, error) {
	ss := streamStatus{Name: name, Consumers: []consumerStatus{}}
	s, err := js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		ss.Missing = true
		return ss, nil
	}
	if err != nil {
		return ss, fmt.Errorf("stream %s: %w", name, err)
	}
	info := s.CachedInfo()
	ss.Messages, ss.Bytes = info.State.Msgs, info.State.Bytes
	lister := s.ListConsumers(ctx)
	for ci := range lister.Info() {
		ss.Consumers = append(ss.Consumers, consumerStatus{
			Name: ci.Name, Pending: ci.NumPending, AckPending: ci.NumAckPending,
			Redelivered: ci.NumRedelivered, Waiting: ci.NumWaiting,
		})
	}
	if err := lister.Err(); err != nil {
		return ss, fmt.Errorf("consumers of %s: %w", name, err)
	}
	slices.SortFunc(ss.Consumers, func(a, b consumerStatus) int { return strings.Compare(a.Name, b.Name) })
	return ss, nil
}

// deadletters counts the dead-letter stream's messages by service (the
// last token of rounds.deadletter.<service>).
func deadletters(ctx context.Context, js jetstream.JetStream, into map[string]uint64) error {
	s, err := js.Stream(ctx, contract.StreamDeadletter)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stream %s: %w", contract.StreamDeadletter, err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(contract.DeadletterAll))
	if err != nil {
		return fmt.Errorf("stream %s subjects: %w", contract.StreamDeadletter, err)
	}
	for subject, n := range info.State.Subjects {
		into[strings.TrimPrefix(subject, "rounds.deadletter.")] += n
	}
	return nil
}

func printStatus(w io.Writer, rep statusReport) {
	fmt.Fprintln(w, "Services (NATS micro):")
	if len(rep.Services) == 0 {
		fmt.Fprintln(w, "  none answered")
	} else {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  NAME\tVERSION\tID\tREADY\tENDPOINTS\tREQUESTS\tERRORS")
		for _, s := range rep.Services {
			ready := "-"
			switch {
			case s.Ready == nil:
			case *s.Ready:
				ready = "yes"
			default:
				ready = "no: " + s.Problem
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%d\t%d\n", s.Name, s.Version, s.ID, ready, s.Endpoints, s.Requests, s.Errors)
		}
		tw.Flush()
	}
	fmt.Fprintln(w, "\nStreams and consumers (PENDING: not delivered yet; ACK PENDING: delivered, not acknowledged):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  STREAM\tMESSAGES\tCONSUMER\tPENDING\tACK PENDING\tREDELIVERED\tREADING")
	for _, s := range rep.Streams {
		if s.Missing {
			fmt.Fprintf(tw, "  %s\tmissing\t\t\t\t\t\n", s.Name)
			continue
		}
		if len(s.Consumers) == 0 {
			fmt.Fprintf(tw, "  %s\t%d\t-\t\t\t\t\n", s.Name, s.Messages)
		}
		for i, c := range s.Consumers {
			name, msgs := "", ""
			if i == 0 {
				name, msgs = s.Name, fmt.Sprint(s.Messages)
			}
			reading := "no"
			if c.Waiting > 0 {
				reading = "yes"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%d\t%d\t%s\n", name, msgs, c.Name, c.Pending, c.AckPending, c.Redelivered, reading)
		}
	}
	tw.Flush()
	fmt.Fprint(w, "\nDead letters: ")
	if len(rep.Deadletters) == 0 {
		fmt.Fprintln(w, "none")
	} else {
		names := make([]string, 0, len(rep.Deadletters))
		for n := range rep.Deadletters {
			names = append(names, n)
		}
		slices.Sort(names)
		parts := make([]string, 0, len(names))
		for _, n := range names {
			parts = append(parts, fmt.Sprintf("%d from %s", rep.Deadletters[n], n))
		}
		fmt.Fprintln(w, strings.Join(parts, ", "))
	}
	fmt.Fprint(w, "Signatures: ")
	switch {
	case rep.SignaturesError != "":
		fmt.Fprintf(w, "unknown (%s)\n", rep.SignaturesError)
	case rep.SignaturesTotal == 0:
		fmt.Fprintln(w, "none")
	default:
		fmt.Fprintf(w, "%d%s\n", rep.SignaturesTotal, byStatus(rep.Signatures))
	}
}
