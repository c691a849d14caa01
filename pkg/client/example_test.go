package client_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rounds-dev/rounds/pkg/client"
	"github.com/rounds-dev/rounds/pkg/contract"
)

// This example publishes a runtime error the way a service would report it.
func Example_publishRuntimeError() {
	nc, err := nats.Connect(nats.DefaultURL)
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Drain()
	c, err := client.New(nc)
	if err != nil {
		log.Fatal(err)
	}
	res, err := c.PublishFailures(context.Background(), []contract.Failure{{
		Schema:  contract.SchemaFailure,
		ID:      "checkout-7f3a9c", // unique per occurrence; a retry reuses it
		Project: "shop",
		Time:    time.Now().UTC(),
		Kind:    contract.KindRuntime,
		Service: &contract.ServiceIdentity{Name: "checkout", Version: "1.4.2"},
		Error: contract.ErrorInfo{
			Type:    "*url.Error",
			Message: `Post "http://payments:8080/charge": dial tcp 10.0.0.7:8080: connect: connection refused`,
		},
	}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("published:", res.Published)
}

// This example reports which tests of a CI run passed, so that Rounds can
// tell a flaky test (failed and passed on the same commit) from a broken one.
// PublishRun cuts a long list into chunks below the NATS max payload.
func Example_publishRun() {
	nc, err := nats.Connect(nats.DefaultURL)
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Drain()
	c, err := client.New(nc)
	if err != nil {
		log.Fatal(err)
	}
	passed := []contract.TestRef{
		{Suite: "example.com/shop/cart", Name: "TestAdd"},
		{Suite: "example.com/shop/cart", Name: "TestCheckout/empty_cart"},
	}
	res, err := c.PublishRun(context.Background(), contract.RunReported{
		Schema:  contract.SchemaRun,
		ID:      "ci-8812-unit-tests", // the same for the same report; each chunk appends ".<index>"
		Project: "shop",
		Time:    time.Now().UTC(),
		Run:     contract.RunInfo{ID: "8812", Commit: "9f2c1e7"},
		Source:  "unit-tests",
		Passed:  contract.GroupTests(passed),
		Total:   3,
		Failed:  1, // published as a failure with the same run
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("chunks published:", res.Published)
}
