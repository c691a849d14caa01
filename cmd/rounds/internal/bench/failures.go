// Package bench measures ingest against raw JetStream on the same machine,
// in the same run: the same messages are published and consumed by a plain
// pull consumer, then published through the whole pipeline, and the two
// rates are compared.
package bench

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// runSize is how many failures each synthetic CI run has.
const runSize = 500

// pubMsg is one message to publish: a failure, or a run report when run
// is set. id is its Nats-Msg-Id.
type pubMsg struct {
	id   string
	data []byte
	run  bool
}

// workload is what both sides of the benchmark publish and consume.
type workload struct {
	msgs           []pubMsg
	failures, runs int
}

// synthetic builds n realistic failures spread over bugs distinct bugs:
// messages with run-specific values, 20-30 frame stacks in the styles of Go,
// Python, JVM and Node, around 2 KB each. Every runSize failures make a CI
// run, whose report follows its last failure, as a CI job publishes them:
// it counts four times as many tests as failed (no storm) and lists 50 of
// the passes, so that ingest judges each run at once rather than holding
// its signature events for the storm wait.
func synthetic(project string, n, bugs int, seed uint64) (workload, error) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	w := workload{msgs: make([]pubMsg, 0, n+n/runSize+1)}
	failed := map[contract.TestRef]struct{}{}
	for i := 0; i < n; i++ {
		bug := rng.IntN(bugs)
		f := contract.Failure{
			Schema:  contract.SchemaFailure,
			ID:      fmt.Sprintf("bench-%d-%08x", i, rng.Uint32()),
			Project: project,
			Time:    start.Add(time.Duration(i) * time.Millisecond),
			Kind:    contract.KindTest,
			Test: &contract.TestIdentity{
				Framework: []string{"go", "pytest", "junit", "jest"}[bug%4],
				Suite:     fmt.Sprintf("pkg%d/module%d", bug%17, bug%5),
				Name:      fmt.Sprintf("TestCase%d", bug),
			},
			Error: contract.ErrorInfo{
				Type:    []string{"AssertionError", "*errors.errorString", "java.lang.IllegalStateException", "TypeError"}[bug%4],
				Message: message(rng, bug),
				Stack:   stack(rng, bug),
			},
			Run: contract.RunInfo{ID: fmt.Sprintf("run-%d", i/runSize), Commit: fmt.Sprintf("%040x", i/2000), Branch: "main", Attempt: 1},
		}
		data, err := json.Marshal(f)
		if err != nil {
			return workload{}, fmt.Errorf("encode synthetic failure: %w", err)
		}
		w.msgs = append(w.msgs, pubMsg{id: f.ID, data: data})
		w.failures++
		failed[contract.TestRef{Suite: f.Test.Suite, Name: f.Test.Name}] = struct{}{}
		if (i+1)%runSize == 0 || i == n-1 {
			reports, err := runReport(project, f.Run, f.Time, len(failed))
			if err != nil {
				return workload{}, err
			}
			w.msgs = append(w.msgs, reports...)
			w.runs += len(reports)
			clear(failed)
		}
	}
	return w, nil
}

// runReport is the report of a run in which failed tests failed, encoded
// as pkg/client's PublishRun sends it.
func runReport(project string, run contract.RunInfo, at time.Time, failed int) ([]pubMsg, error) {
	passed := make([]contract.TestRef, 50)
	for i := range passed {
		passed[i] = contract.TestRef{Suite: "pkg/ok", Name: fmt.Sprintf("TestOk%d", i)}
	}
	r := contract.RunReported{
		Schema: contract.SchemaRun, ID: "report-" + run.ID, Project: project, Time: at,
		Run: run, Source: "report.xml", Framework: "junit",
		Passed: contract.GroupTests(passed), Total: 4 * failed, Failed: failed,
	}
	chunks, err := r.Chunks(contract.RunChunkBytes)
	if err != nil {
		return nil, fmt.Errorf("cut synthetic run report: %w", err)
	}
	out := make([]pubMsg, len(chunks))
	for i := range chunks {
		data, err := json.Marshal(&chunks[i])
		if err != nil {
			return nil, fmt.Errorf("encode synthetic run report: %w", err)
		}
		out[i] = pubMsg{id: chunks[i].ID, data: data, run: true}
	}
	return out, nil
}

func message(rng *rand.Rand, bug int) string {
	switch bug % 5 {
	case 0:
		return fmt.Sprintf("expected status %d for order %d, got %d after %dms", 200, rng.IntN(1e6), 500+bug%4, rng.IntN(3000))
	case 1:
		return fmt.Sprintf("open /tmp/TestCase%d%d/%d/fixture-%d.json: no such file or directory (component %d)", bug, rng.IntN(1e9), rng.IntN(10), rng.IntN(100), bug)
	case 2:
		return fmt.Sprintf("dial tcp 127.0.0.1:%d: connect: connection refused while calling service-%d", 20000+rng.IntN(40000), bug)
	case 3:
		return fmt.Sprintf("Cannot read properties of undefined (reading 'field%d') at request %x", bug, rng.Uint64())
	}
	return fmt.Sprintf("timeout after %d.%03ds waiting for lock %d held by worker %d", rng.IntN(30), rng.IntN(1000), bug, rng.IntN(64))
}

func stack(rng *rand.Rand, bug int) string {
	var b strings.Builder
	frames := 20 + bug%11
	switch bug % 4 {
	case 0:
		fmt.Fprintf(&b, "goroutine %d [running]:\n", rng.IntN(500))
		for f := 0; f < frames; f++ {
			fmt.Fprintf(&b, "example.com/shop/pkg%d.(*Handler%d).Step%d(0x%x, 0x%x)\n\t/home/runner/work/shop/pkg%d/handler.go:%d +0x%x\n",
				bug%17, f, bug+f, rng.Uint32(), rng.Uint32(), bug%17, 10+f*7, rng.IntN(4096))
		}
	case 1:
		b.WriteString("Traceback (most recent call last):\n")
		for f := 0; f < frames; f++ {
			fmt.Fprintf(&b, "  File \"/tmp/venv-%d/src/shop/module%d.py\", line %d, in step_%d_%d\n    result = handler.run(payload)\n", rng.IntN(1e6), bug%5, 10+f, bug, f)
		}
	case 2:
		for f := 0; f < frames; f++ {
			fmt.Fprintf(&b, "\tat com.example.shop.Service%d.step%d(Service%d.java:%d)\n", bug, f, bug, 10+f*3)
		}
	default:
		for f := 0; f < frames; f++ {
			fmt.Fprintf(&b, "    at step%d_%d (/srv/build-%d/src/module%d.js:%d:%d)\n", bug, f, rng.IntN(1e6), bug%5, 10+f, rng.IntN(80))
		}
	}
	return b.String()
}
