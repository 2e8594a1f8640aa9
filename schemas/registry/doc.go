// Package registry connects to a Confluent-compatible Schema Registry with
// the settings of the configuration's registry: section
// (dictionary.Registry): NewClient builds a franz-go sr.Client, and Check
// tells whether the settings work, in the operator's terms.
//
// # Transport
//
// Every request goes through an http.Client with registry.timeout (default
// 10s) as its timeout, on a clone of http.DefaultTransport (proxy from the
// environment, HTTP/2, keep-alives). For https URLs, TLS is 1.2 at least;
// the roots are registry.tls.ca_file or the system ones; server_name and
// insecure_skip_verify apply as in kafka.tls. The client certificate and
// key are re-read at each TLS handshake, so a renewed pair is used by the
// next connection; if the pair on disk does not load (a renewal half
// written), the last good one is presented.
//
// sr.Client tries its URLs in order, moving to the next only when one cannot
// be reached (an HTTP error status is an answer, and is returned as is).
//
// # Credentials, read at every request
//
// Credentials are not handed to sr.BasicAuth or sr.BearerToken: those keep
// the value in the client, where sr.Client.OptValues returns it and a %+v
// of the options could print it. Instead, the transport sets the
// Authorization header on each request, revealing the secret then:
//
//   - basic: the password (an environment variable or a file) is read for
//     every request, so a rotated password file is used by the next one.
//   - bearer: the token is read for every request; a token file written by
//     a sidecar (an OAuth token refresher, a Kubernetes projected token) is
//     picked up without a restart.
//
// NewClient also reads the secret once, only to fail at start-up when the
// variable or file is missing; the value is dropped. The header is only
// added to requests for the hosts of registry.urls, so a redirect to
// another host does not carry the credentials. Reading a file for each
// request costs little next to the HTTP round trip.
//
// # Errors
//
// NewClient and Check return *Error, whose Kind says what to fix:
//
//	config    a CA file, client certificate or secret that cannot be read
//	auth      401/403: credentials missing, wrong, or lacking permission
//	tls       certificate not trusted (CA file or system roots), wrong name,
//	          client certificate required; TLS spoken to plain HTTP or the
//	          other way round
//	network   connection refused, host not resolvable, no answer in time
//	registry  any other error status, with the registry's error_code and
//	          message; 404 usually means a URL that is not the registry's
//
// Messages name the URL, the basic user, where a token comes from (an
// environment variable or a file), and the CA file or the system roots;
// never a secret's value.
package registry
