package dictionary

import "regexp"

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
	// Subject is the Schema Registry subject the profile schema is
	// registered under (avro only): default "<profiles_topic>-value", the
	// TopicNameStrategy name Confluent deserializers look up.
	Subject string
}

var (
	outputKeys    = []string{"format", "subject"}
	outputFormats = []string{string(OutputJSON), string(OutputAvro)}
)

// avroNameRE is what Avro accepts as a field name.
var avroNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (p *parser) output(e entry) {
	out := Output{Format: OutputJSON}
	o, _ := p.object(e.value, e.line, "output", outputKeys...)
	formatLine := e.line
	if x, has := o.get("format"); has {
		formatLine = lineOf(x.value, x.line)
		if s, ok := p.choice(x.value, x.line, "output.format", "format", outputFormats); ok {
			out.Format = OutputFormat(s)
		}
	}
	if x, has := o.get("subject"); has {
		if s, ok := p.name(x.value, x.line, "output.subject"); ok {
			if out.Format == OutputAvro {
				out.Subject = s
			} else {
				p.errorf(lineOf(x.value, x.line), "output.subject: applies to output.format avro only; the format is %s", out.Format)
			}
		}
	}
	if out.Format == OutputAvro {
		if out.Subject == "" {
			out.Subject = p.f.Pipeline.ProfilesTopic + "-value"
		}
		if p.f.Registry == nil {
			p.errorf(formatLine, "output.format: avro needs a registry: section, the Schema Registry the profile schema is registered in and checked against")
		}
		// Attribute names become Avro field names; say so at the
		// attribute rather than fail when the schema is generated.
		for _, info := range p.order {
			if !avroNameRE.MatchString(info.a.Name) {
				p.errorf(info.a.Line, "%s: %s is not a valid Avro field name, which output.format avro needs "+
					"(letters, digits and _, not starting with a digit)", info.what, clip(info.a.Name))
			}
		}
	}
	p.f.Output = out
}
