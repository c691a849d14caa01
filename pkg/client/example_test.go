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
