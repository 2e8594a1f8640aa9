package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
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

// byteSize is a flag holding an amount of memory: a number of bytes with
// an optional unit, binary (Ki, Mi, Gi, KiB, MiB, GiB) or decimal (KB, MB,
// GB), as Kubernetes resource quantities and most tools write them.
type byteSize int64

func (b *byteSize) String() string { return formatBytes(int64(*b)) }

func (b *byteSize) Set(s string) error {
	n, err := parseBytes(s)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	num := strings.TrimRightFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	unit := strings.TrimSpace(s[len(num):])
	units := map[string]float64{
		"": 1, "B": 1,
		"K": 1 << 10, "Ki": 1 << 10, "KiB": 1 << 10, "KB": 1e3,
		"M": 1 << 20, "Mi": 1 << 20, "MiB": 1 << 20, "MB": 1e6,
		"G": 1 << 30, "Gi": 1 << 30, "GiB": 1 << 30, "GB": 1e9,
	}
	mult, ok := units[unit]
	if num == "" || !ok {
		return 0, fmt.Errorf("%q is not an amount of memory (e.g. 1GiB, 512MiB, 768Mi)", s)
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not an amount of memory (e.g. 1GiB, 512MiB, 768Mi)", s)
	}
	return int64(n * mult), nil
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%d", n)
}
