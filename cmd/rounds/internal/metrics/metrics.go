// Package metrics exposes a Rounds process's counters to Prometheus on a
// registry of its own (never the global default one): it reads what each
// service already counts (ingest.Service.Stats, the NATS connections'
// statistics, the signatures in ingest's state) at scrape time, and
// observes each diagnosis through diagnose.Config.Observe, so that the
// services themselves import no Prometheus.
//
// It lives with the composition root rather than in pkg because it knows
// the services, which pkg must not.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/diagnose"
	"github.com/rounds-dev/rounds/services/ingest"
)

// Path is where the metrics are served.
const Path = "/metrics"

// Metrics is the process's registry and the collectors it feeds itself.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	diagnoses        *prometheus.CounterVec
	diagnosisSeconds *prometheus.HistogramVec
	diagnosisCost    *prometheus.CounterVec
}

// New returns a registry with the Go runtime and process collectors and
// the diagnosis metrics.
func New(log *slog.Logger) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), log: log}
	m.diagnoses = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rounds_diagnoses_total",
		Help: "Calls of the diagnoser, by configured diagnoser and outcome: answered, fallback (the heuristic answered for it) or error.",
	}, []string{"diagnoser", "outcome"})
	m.diagnosisSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "rounds_diagnosis_duration_seconds",
		Help: "How long a call of the diagnoser took, retries and fallback included, evidence gathering not, by configured diagnoser.",
		// From the heuristic's milliseconds to a Claude Code run's minutes.
		Buckets: []float64{0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
	}, []string{"diagnoser"})
	m.diagnosisCost = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rounds_diagnosis_cost_usd_total",
		Help: "What diagnoses cost, in US dollars, by the diagnoser that answered.",
	}, []string{"diagnoser"})
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.diagnoses, m.diagnosisSeconds, m.diagnosisCost,
	)
	return m
}

// Registry is the process's registry, for other parts to register on.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text (or OpenMetrics)
// exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
		ErrorHandling:     promhttp.ContinueOnError,
		Registry:          m.reg,
		EnableOpenMetrics: true,
	})
}

// ObserveDiagnosis records one call of the diagnoser: set it as
// diagnose.Config.Observe.
func (m *Metrics) ObserveDiagnosis(o diagnose.Observation) {
	outcome := "answered"
	switch {
	case o.Err != nil:
		outcome = "error"
	case o.Fallback:
		outcome = "fallback"
	}
	m.diagnoses.WithLabelValues(o.Diagnoser, outcome).Inc()
	m.diagnosisSeconds.WithLabelValues(o.Diagnoser).Observe(o.Duration.Seconds())
	if o.Err == nil {
		m.diagnosisCost.WithLabelValues(o.Answered).Add(o.CostUSD)
	}
}

// WatchIngest registers ingest's counters, read from svc.Stats at each
// scrape, and the signatures in its state by status.
func (m *Metrics) WatchIngest(svc *ingest.Service) {
	counter := func(name, help string, labels prometheus.Labels, read func(ingest.Stats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels},
			func() float64 { return float64(read(svc.Stats())) })
	}
	const failures = "rounds_ingest_failures_total"
	const failuresHelp = "Failure messages ingest consumed, by result: applied (counted on a signature), duplicate (seen before) or deadlettered."
	const runs = "rounds_ingest_runs_total"
	const runsHelp = "Run report messages ingest consumed, by result: applied, duplicate or deadlettered."
	m.reg.MustRegister(
		counter(failures, failuresHelp, prometheus.Labels{"result": "applied"}, func(s ingest.Stats) int64 { return s.Applied }),
		counter(failures, failuresHelp, prometheus.Labels{"result": "duplicate"}, func(s ingest.Stats) int64 { return s.Duplicates }),
		// Deadlettered counts failures and runs; the runs' part is theirs.
		counter(failures, failuresHelp, prometheus.Labels{"result": "deadlettered"}, func(s ingest.Stats) int64 { return s.Deadlettered - s.DeadletteredRuns }),
		counter(runs, runsHelp, prometheus.Labels{"result": "applied"}, func(s ingest.Stats) int64 { return s.Runs }),
		counter(runs, runsHelp, prometheus.Labels{"result": "duplicate"}, func(s ingest.Stats) int64 { return s.RunDuplicates }),
		counter(runs, runsHelp, prometheus.Labels{"result": "deadlettered"}, func(s ingest.Stats) int64 { return s.DeadletteredRuns }),
		counter("rounds_deadletters_total", "Messages this process put on rounds.deadletter.<service>, by service.", prometheus.Labels{"service": ingest.Name}, func(s ingest.Stats) int64 { return s.Deadlettered }),
		counter("rounds_ingest_batches_total", "Transactions ingest committed.", nil, func(s ingest.Stats) int64 { return s.Batches }),
		counter("rounds_ingest_signature_events_total", "Signature events ingest committed to announce.", nil, func(s ingest.Stats) int64 { return s.Events }),
		counter("rounds_ingest_storm_events_total", "Signature events flagged as part of an infrastructure storm.", nil, func(s ingest.Stats) int64 { return s.Storms }),
		&signatureStatuses{
			count: svc.SignaturesByStatus, log: m.log, every: signaturesRefresh, gap: signaturesGap,
			// Statuses change only with a signature event committed.
			version: func() int64 { return svc.Stats().Events },
		},
	)
}

// WatchNATS registers the messages and bytes in and out of the process's
// NATS connections, by service, read from stats at each scrape.
func (m *Metrics) WatchNATS(stats func() map[string]NATSStats) {
	m.reg.MustRegister(&natsCollector{stats: stats})
}

// NATSStats are a service's NATS traffic, summed over its connections.
type NATSStats struct {
	InMsgs, OutMsgs, InBytes, OutBytes uint64
}

var (
	natsInMsgs   = prometheus.NewDesc("rounds_messages_in_total", "NATS messages the service received (events, acks and JetStream replies), by service.", []string{"service"}, nil)
	natsOutMsgs  = prometheus.NewDesc("rounds_messages_out_total", "NATS messages the service sent (events, acks and JetStream requests), by service.", []string{"service"}, nil)
	natsInBytes  = prometheus.NewDesc("rounds_message_bytes_in_total", "Bytes of NATS messages the service received, by service.", []string{"service"}, nil)
	natsOutBytes = prometheus.NewDesc("rounds_message_bytes_out_total", "Bytes of NATS messages the service sent, by service.", []string{"service"}, nil)
)

type natsCollector struct {
	stats func() map[string]NATSStats
}

func (c *natsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- natsInMsgs
	ch <- natsOutMsgs
	ch <- natsInBytes
	ch <- natsOutBytes
}

func (c *natsCollector) Collect(ch chan<- prometheus.Metric) {
	for svc, s := range c.stats() {
		ch <- prometheus.MustNewConstMetric(natsInMsgs, prometheus.CounterValue, float64(s.InMsgs), svc)
		ch <- prometheus.MustNewConstMetric(natsOutMsgs, prometheus.CounterValue, float64(s.OutMsgs), svc)
		ch <- prometheus.MustNewConstMetric(natsInBytes, prometheus.CounterValue, float64(s.InBytes), svc)
		ch <- prometheus.MustNewConstMetric(natsOutBytes, prometheus.CounterValue, float64(s.OutBytes), svc)
	}
}

// Counting the signatures reads every one of them, which scrapes should
// not pay for each time: they are counted again when ingest has committed
// signature events since, at most every signaturesGap, and at least every
// signaturesRefresh (for changes it does not count, such as a mute).
const (
	signaturesRefresh = 15 * time.Second
	signaturesGap     = time.Second
)

var signaturesDesc = prometheus.NewDesc("rounds_signatures", "Signatures in ingest's state, by status (counted again at most every second, at least every 15s).", []string{"status"}, nil)

// statuses are reported even when no signature has them, so that a
// status that empties reads 0 rather than vanishing.
var statuses = []contract.SignatureStatus{
	contract.StatusNew, contract.StatusDiagnosing, contract.StatusDiagnosed,
	contract.StatusResolved, contract.StatusMuted, contract.StatusRegressed,
}

// signatureStatuses is the rounds_signatures gauge: counted again when
// version has moved and gap has passed since the last count, or every has;
// reported from the last count in between.
type signatureStatuses struct {
	count   func(context.Context) (map[contract.SignatureStatus]int, error)
	version func() int64
	log     *slog.Logger
	every   time.Duration
	gap     time.Duration

	mu     sync.Mutex
	at     time.Time
	seen   int64 // version at the last count
	counts map[contract.SignatureStatus]int
}

// stale reports whether the last count must be done again.
func (c *signatureStatuses) stale(version int64) bool {
	since := time.Since(c.at)
	return c.counts == nil || since >= c.every || (version != c.seen && since >= c.gap)
}

func (c *signatureStatuses) Describe(ch chan<- *prometheus.Desc) { ch <- signaturesDesc }

func (c *signatureStatuses) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var version int64
	if c.version != nil {
		version = c.version()
	}
	if c.stale(version) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		counts, err := c.count(ctx)
		cancel()
		if err != nil {
			// Before ingest has opened its state there is nothing to
			// count; the gauge is left out rather than reading 0.
			c.log.Debug("signatures not counted for metrics", "error", err)
			c.counts = nil
			return
		}
		c.counts, c.at, c.seen = counts, time.Now(), version
	}
	seen := map[contract.SignatureStatus]bool{}
	for _, st := range statuses {
		seen[st] = true
		ch <- prometheus.MustNewConstMetric(signaturesDesc, prometheus.GaugeValue, float64(c.counts[st]), string(st))
	}
	for st, n := range c.counts {
		if !seen[st] {
			ch <- prometheus.MustNewConstMetric(signaturesDesc, prometheus.GaugeValue, float64(n), string(st))
		}
	}
}

var deadletterDesc = prometheus.NewDesc("rounds_deadletter_stream_messages",
	"Messages held on the "+contract.StreamDeadletter+" stream, by the service that dead-lettered them (every process's, as the stream keeps them).",
	[]string{"service"}, nil)

// WatchDeadletters registers the dead letters held on the stream, read
// with js at each scrape; js returns nil while there is no connection, and
// the gauge is then left out.
func (m *Metrics) WatchDeadletters(js func() jetstream.JetStream) {
	m.reg.MustRegister(&deadletterStream{js: js, log: m.log})
}

type deadletterStream struct {
	js  func() jetstream.JetStream
	log *slog.Logger
}

func (c *deadletterStream) Describe(ch chan<- *prometheus.Desc) { ch <- deadletterDesc }

func (c *deadletterStream) Collect(ch chan<- prometheus.Metric) {
	js := c.js()
	if js == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, contract.StreamDeadletter)
	if err != nil {
		c.log.Debug("dead letters not counted for metrics", "error", err)
		return
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(contract.DeadletterAll))
	if err != nil {
		c.log.Debug("dead letters not counted for metrics", "error", err)
		return
	}
	prefix := strings.TrimSuffix(contract.DeadletterAll, ">")
	for subject, n := range info.State.Subjects {
		ch <- prometheus.MustNewConstMetric(deadletterDesc, prometheus.GaugeValue, float64(n), strings.TrimPrefix(subject, prefix))
	}
}

// SinkCounts are one report sink's deliveries, as report.Service.Stats
// counts them.
type SinkCounts struct {
	// Delivered counts deliveries the sink took; Failed failed attempts,
	// retried or not; Dropped deliveries given up on.
	Delivered, Failed, Dropped uint64
}

var (
	sinkDeliveriesDesc = prometheus.NewDesc("rounds_report_sink_deliveries_total",
		"Report deliveries by sink and result: delivered (the sink took it) or dropped (given up on after a permanent failure).",
		[]string{"sink", "result"}, nil)
	sinkFailuresDesc = prometheus.NewDesc("rounds_report_sink_failures_total",
		"Failed delivery attempts by sink, retried or not.",
		[]string{"sink"}, nil)
)

// WatchSinks registers report's deliveries per sink, read from stats at
// each scrape.
func (m *Metrics) WatchSinks(stats func() map[string]SinkCounts) {
	m.reg.MustRegister(&sinkCollector{stats: stats})
}

type sinkCollector struct {
	stats func() map[string]SinkCounts
}

func (c *sinkCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- sinkDeliveriesDesc
	ch <- sinkFailuresDesc
}

func (c *sinkCollector) Collect(ch chan<- prometheus.Metric) {
	for name, s := range c.stats() {
		ch <- prometheus.MustNewConstMetric(sinkDeliveriesDesc, prometheus.CounterValue, float64(s.Delivered), name, "delivered")
		ch <- prometheus.MustNewConstMetric(sinkDeliveriesDesc, prometheus.CounterValue, float64(s.Dropped), name, "dropped")
		ch <- prometheus.MustNewConstMetric(sinkFailuresDesc, prometheus.CounterValue, float64(s.Failed), name)
	}
}
