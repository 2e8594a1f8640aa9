package dictionary

// This file reads the sinks: section: the ESP connectors that drain the
// profiles topic.

// Sink is one configured ESP connector.
type Sink struct {
	Name string
	Line int
}

func (p *parser) sinks(e entry) {
	if e.value == nil {
		return
	}
	_, _ = p.mapping(e.value, e.line, "sinks")
}
