// Package deploy holds deployment files. It is a Go package only so that the
// reference configuration ships inside the profiled binary: "profiled dev"
// works on a fresh machine without a checkout.
package deploy

import _ "embed"

// DevConfig is config/dev.yaml, the reference scenario.
//
//go:embed config/dev.yaml
var DevConfig []byte
