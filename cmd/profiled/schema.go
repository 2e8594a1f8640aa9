package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/profiled/profiled/schemas/dictionary"
	"github.com/profiled/profiled/schemas/profileavro"
	"github.com/profiled/profiled/schemas/registry"
)

// errIncompatible makes "schema check" exit non-zero; the report is
// already printed.
var errIncompatible = errors.New("the profile schema is not compatible with the registered one")

func schemaUsage(w io.Writer) {
	fmt.Fprint(w, `Usage:
  profiled schema print      --config F                 the profile's Avro schema, as registered
  profiled schema check      --config F [--registry U]  compatibility with the registered schema
  profiled schema jsonschema --config F                 the profile as JSON Schema (draft 2020-12)

The schema is generated from the data dictionary. check compares it with the
latest version under the output subject (output.subject, default
<profiles_topic>-value) of the registry at --registry, else of the config's
registry: section, and exits with 1 when it is not BACKWARD compatible.
`)
}

// cmdSchema runs "profiled schema ...".
func cmdSchema(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		schemaUsage(stderr)
		return errUsage
	}
	sub := args[0]
	fs := flag.NewFlagSet("profiled schema "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "the configuration file (data dictionary); required")
	var registryURL *string
	switch sub {
	case "print", "jsonschema":
	case "check":
		registryURL = fs.String("registry", "", "the Schema Registry's URL (default: registry.urls of the configuration)")
	case "-h", "-help", "--help", "help":
		schemaUsage(stdout)
		return nil
	default:
		fmt.Fprintf(stderr, "profiled schema: unknown subcommand %q\n\n", sub)
		schemaUsage(stderr)
		return errUsage
	}
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *config == "" {
		fmt.Fprintln(stderr, "profiled schema: --config is required")
		return errUsage
	}
	d, err := dictionary.Load(*config)
	if err != nil {
		return fmt.Errorf("loading configuration: %w", err)
	}
	if sub == "jsonschema" {
		b, err := profileavro.JSONSchema(d)
		if err != nil {
			return err
		}
		_, err = stdout.Write(b)
		return err
	}
	s, err := profileavro.Generate(d)
	if err != nil {
		return fmt.Errorf("generating the profile schema: %w", err)
	}
	if sub == "print" {
		_, err = fmt.Fprintln(stdout, s.JSON)
		return err
	}
	return schemaCheck(ctx, d, s, *registryURL, stdout)
}

func schemaCheck(ctx context.Context, d *dictionary.File, s *profileavro.Schema, url string, stdout io.Writer) error {
	var r dictionary.Registry
	switch {
	case url != "":
		r = dictionary.Registry{URLs: []string{url}, Timeout: dictionary.DefaultRegistryTimeout}
		if d.Registry != nil && len(d.Registry.URLs) > 0 && d.Registry.URLs[0] == url {
			r = *d.Registry // the configured credentials and TLS for the same registry
		}
	case d.Registry != nil:
		r = *d.Registry
	default:
		return fmt.Errorf("no registry: give --registry or a registry: section in %s", d.Path)
	}
	cl, err := registry.NewClient(r)
	if err != nil {
		return err
	}
	subject := d.Output.Subject
	if subject == "" {
		subject = d.Pipeline.ProfilesTopic + "-value"
	}
	rep, err := profileavro.Check(ctx, cl, subject, s)
	if err != nil {
		return err
	}
	switch {
	case !rep.Compatible():
		fmt.Fprintf(stdout, "subject %s: INCOMPATIBLE with version %d (id %d): consumers could not read the profiles already written:\n",
			subject, rep.Latest, rep.LatestID)
		for _, p := range rep.Problems {
			fmt.Fprintf(stdout, "  %s\n", p)
		}
		return errIncompatible
	case rep.Latest == 0:
		fmt.Fprintf(stdout, "subject %s: no schema registered yet; the profile schema will be version 1\n", subject)
	case rep.Same:
		fmt.Fprintf(stdout, "subject %s: unchanged, version %d (id %d)\n", subject, rep.Latest, rep.LatestID)
	default:
		fmt.Fprintf(stdout, "subject %s: BACKWARD compatible with version %d (id %d); the profile schema will be a new version\n",
			subject, rep.Latest, rep.LatestID)
	}
	return nil
}
