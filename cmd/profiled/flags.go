package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/profiled/profiled/schemas/dictionary"
)

// requiredFlag is a flag a command cannot run without.
type requiredFlag struct{ name, value string }

// loadClusterConfig is how run and sink start: it reports every missing
// required flag at once (with the usage), loads the configuration file and
// picks the seed brokers, the flag's or else kafka.brokers.
func loadClusterConfig(fs *flag.FlagSet, stderr io.Writer, cmd, config, brokers string, required ...requiredFlag) (*dictionary.File, []string, error) {
	var missing []string
	for _, f := range required {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(stderr, "profiled %s: missing %s\n", cmd, strings.Join(missing, ", "))
		fs.Usage()
		return nil, nil, errUsage
	}
	dict, err := dictionary.Load(config)
	if err != nil {
		return nil, nil, fmt.Errorf("loading configuration: %w", err)
	}
	seeds := splitList(brokers)
	if len(seeds) == 0 {
		seeds = dict.Kafka.Brokers
	}
	if len(seeds) == 0 {
		return nil, nil, errors.New("no brokers: give --brokers or kafka.brokers in the configuration")
	}
	return dict, seeds, nil
}
