package dictionary

import "time"

// DefaultRegistryTimeout bounds each Schema Registry request when
// registry.timeout is not set.
const DefaultRegistryTimeout = 10 * time.Second

// Registry holds how to reach the Confluent-compatible Schema Registry:
// section `registry:`. File.Registry is nil when the section is absent.
type Registry struct {
	// URLs are the registry's base URLs, all http:// or all https://, with
	// an optional path prefix; requests go to the first, and to the next
	// only when one cannot be reached. The scheme is stored in lower case.
	URLs []string
	// TLS adjusts TLS to https URLs (CA file, client certificate, server
	// name); nil means the system roots and no client certificate.
	TLS *TLS
	// Basic is HTTP basic authentication (a Confluent Cloud API key and
	// secret, for example); nil: none.
	Basic *BasicAuth
	// Bearer is a bearer token (an OAuth access token, say); a file is
	// re-read for every request, so a sidecar can rotate it. Zero: none.
	// At most one of Basic and Bearer is set.
	Bearer Secret
	// Timeout bounds each request; DefaultRegistryTimeout unless set.
	Timeout time.Duration
}

// BasicAuth is HTTP basic authentication.
type BasicAuth struct {
	Username string // not secret: written in the file
	Password Secret
}
