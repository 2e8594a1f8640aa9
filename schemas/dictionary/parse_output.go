package dictionary

// This file reads the output: section: how profiles are encoded on the
// profiles topic.

// OutputFormat is the encoding of the profiles topic.
type OutputFormat string

// The supported output formats.
const (
	OutputJSON OutputFormat = "json"
	OutputAvro OutputFormat = "avro"
)

// Output holds the settings of section `output:`.
type Output struct {
	Format OutputFormat // default json
}

func (p *parser) output(e entry) {
	out := Output{Format: OutputJSON}
	p.f.Output = out
	if e.value == nil {
		return
	}
	_, _ = p.quietObject(e.value, e.line, "output", false)
}
