package contract

import "time"

// Every Rounds service process (ingest, diagnose, report) registers a NATS
// micro service named ServiceName(service), so that `nats micro ls` and
// `rounds status` find each one running. Its one endpoint, on
// ServiceStatusSubject(service), answers a ServiceStatus; the same status
// is the endpoint's data in the micro stats ($SRV.STATS), so that a
// discovery sees the readiness of every instance, not only of the one a
// request reaches.
const (
	// ServiceNamePrefix starts the micro service name of each Rounds
	// service.
	ServiceNamePrefix = "rounds-"
	// ServiceSubjectPrefix starts the subjects of the services' endpoints.
	ServiceSubjectPrefix = "rounds.services"
	// ServiceStatusEndpoint names the endpoint answering a ServiceStatus.
	ServiceStatusEndpoint = "status"
)

// ServiceName is the micro service name of a Rounds service: rounds-ingest.
func ServiceName(service string) string { return ServiceNamePrefix + service }

// ServiceStatusSubject is the subject of a service's status endpoint:
// rounds.services.ingest.status.
func ServiceStatusSubject(service string) string {
	return ServiceSubjectPrefix + "." + service + "." + ServiceStatusEndpoint
}

// ServiceStatus is what a running Rounds service says of itself.
type ServiceStatus struct {
	// Service is ingest, diagnose or report.
	Service string `json:"service"`
	// Version is the version of the rounds binary.
	Version string `json:"version"`
	// Ready is false while the service cannot do its work (its state not
	// open yet, or closed); Problem says why.
	Ready   bool   `json:"ready"`
	Problem string `json:"problem,omitempty"`
	// Started is when the process registered the service.
	Started time.Time `json:"started"`
}
