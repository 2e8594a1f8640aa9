package deploy

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/profiled/profiled/processor"
	"github.com/profiled/profiled/schemas/dictionary"
	"github.com/profiled/profiled/store"
)

// ---- helpers ----

type obj = map[string]any

func readYAML(t *testing.T, path string) obj {
	t.Helper()
	docs := readYAMLDocs(t, path)
	if len(docs) != 1 {
		t.Fatalf("%s: %d YAML documents, want 1", path, len(docs))
	}
	return docs[0]
}

// readYAMLDocs parses every document of a YAML file.
func readYAMLDocs(t *testing.T, path string) []obj {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []obj
	for {
		var d obj
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
	return docs
}

// get walks a decoded YAML/JSON tree by map keys and list indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(obj)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any, path ...any) string {
	s, _ := get(v, path...).(string)
	return s
}

func list(v any, path ...any) []any {
	l, _ := get(v, path...).([]any)
	return l
}

func strs(v any, path ...any) []string {
	var out []string
	for _, x := range list(v, path...) {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// flag returns the value of --name=value in args.
func flag(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func port(t *testing.T, hostport string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatalf("%q: %v", hostport, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("%q: %v", hostport, err)
	}
	return n
}

// pinned reports whether an image reference names a version: a digest, or
// a tag other than latest.
func pinned(image string) bool {
	if strings.Contains(image, "@sha256:") {
		return true
	}
	last := image[strings.LastIndex(image, "/")+1:]
	_, tag, ok := strings.Cut(last, ":")
	return ok && tag != "" && tag != "latest"
}

// sameDictionary fails when f's data dictionary differs from dev.yaml's.
func sameDictionary(t *testing.T, path string, f, dev *dictionary.File) {
	t.Helper()
	if !slices.Equal(f.Names, dev.Names) {
		t.Errorf("%s: attributes %v, dev.yaml has %v", path, f.Names, dev.Names)
	}
	for name, a := range dev.Attributes {
		b := f.Attributes[name]
		if b == nil || a.Type != b.Type || a.Policy != b.Policy || (a.Derive == nil) != (b.Derive == nil) || a.Counter != b.Counter {
			t.Errorf("%s: attribute %s differs from dev.yaml's", path, name)
		}
	}
	if len(f.Sources) != len(dev.Sources) {
		t.Fatalf("%s: %d sources, dev.yaml has %d", path, len(f.Sources), len(dev.Sources))
	}
	for i, s := range dev.Sources {
		o := f.Sources[i]
		if o.Name != s.Name || o.Topic != s.Topic || o.Format != s.Format || len(o.Attributes) != len(s.Attributes) {
			t.Errorf("%s: source %s differs from dev.yaml's", path, s.Name)
		}
	}
	if f.Pipeline != dev.Pipeline {
		t.Errorf("%s: pipeline %+v, dev.yaml has %+v", path, f.Pipeline, dev.Pipeline)
	}
}

func loadDev(t *testing.T) *dictionary.File {
	t.Helper()
	dev, err := dictionary.Parse(DevConfig, "config/dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return dev
}

// ---- Prometheus ----

func promtoolPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: the alert rules are checked with Prometheus's promtool; install Debian's prometheus package " +
			"(apt-get install prometheus); .ci/run installs it")
	}
	return p
}

// TestPrometheusRulesWithPromtool: promtool accepts the alert rules and
// the compose stack's Prometheus configuration, and the rules' unit tests
// (alerts_test.yml: each alert fires on the situation it names and not on
// a short spike) pass.
func TestPrometheusRulesWithPromtool(t *testing.T) {
	promtool := promtoolPath(t)
	for _, args := range [][]string{
		{"check", "rules", "alerts.yml"},
		{"test", "rules", "alerts_test.yml"},
		{"check", "config", "prometheus.yml"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, promtool, args...)
		cmd.Dir = "prometheus"
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	rules := readYAML(t, "prometheus/alerts.yml")
	n := 0
	for _, g := range list(rules, "groups") {
		for _, r := range list(g, "rules") {
			n++
			name := str(r, "alert")
			if str(r, "labels", "severity") == "" || str(r, "annotations", "summary") == "" || str(r, "annotations", "description") == "" {
				t.Errorf("alert %s lacks a severity, summary or description", name)
			}
		}
	}
	// The list: lag, freshness, dead-letter rate, sink 429s, restore.
	text, err := os.ReadFile("prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"profiled_consumer_lag_records", "profiled_profile_freshness_seconds_bucket",
		"profiled_dead_letters_total", "profiled_sink_throttled_total", "profiled_partitions_restoring"} {
		if !bytes.Contains(text, []byte(m)) {
			t.Errorf("no alert on %s", m)
		}
	}
	if n < 5 {
		t.Errorf("%d alert rules", n)
	}
}

// ---- metric names ----

// recorder is a Registerer that remembers the name of every metric
// registered through it, then registers it for real.
type recorder struct {
	reg   *prometheus.Registry
	names map[string]bool
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (r *recorder) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 64)
	go func() {
		c.Describe(ch)
		close(ch)
	}()
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			r.names[m[1]] = true
		}
	}
	return r.reg.Register(c)
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

func (r *recorder) Unregister(c prometheus.Collector) bool { return r.reg.Unregister(c) }

// pipelineMetricNames are the names a real pipeline registers: its own and
// franz-go's client metrics (kprom), which its clients register when they
// are created.
func pipelineMetricNames(t *testing.T) map[string]bool {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	db, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	rec := &recorder{reg: prometheus.NewRegistry(), names: map[string]bool{}}
	p, err := processor.New(processor.Options{
		Brokers: c.ListenAddrs(), Dictionary: loadDev(t), Store: db, Registerer: rec, AdvertiseAddr: "127.0.0.1:1",
	})
	if err != nil {
		t.Fatal(err)
	}
	// Run with a finished context stops at once and closes the clients.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	return rec.names
}

// sinkMetricNames reads the names the ESP connectors register from the
// source of connectors/sink: every Name of a prometheus …Opts literal.
func sinkMetricNames(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("../connectors/sink/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no sources in ../connectors/sink: %v", err)
	}
	names := map[string]bool{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			cl, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			sel, ok := cl.Type.(*ast.SelectorExpr)
			if !ok || !strings.HasSuffix(sel.Sel.Name, "Opts") {
				return true
			}
			for _, e := range cl.Elts {
				kv, ok := e.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Name" {
					if lit, ok := kv.Value.(*ast.BasicLit); ok {
						if s, err := strconv.Unquote(lit.Value); err == nil {
							names[s] = true
						}
					}
				}
			}
			return true
		})
	}
	return names
}

var metricToken = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)

// usedMetrics are the profiled_* metric names (and up) in a PromQL
// expression.
func usedMetrics(expr string) []string {
	var out []string
	for _, tok := range metricToken.FindAllString(expr, -1) {
		if strings.HasPrefix(tok, "profiled_") || tok == "up" {
			out = append(out, tok)
		}
	}
	return out
}

// TestDashboardAndAlertsUseExistingMetrics: every metric the Grafana
// dashboard and the alert rules query is one that profiled registers (a
// pipeline built for real, its Kafka clients included) or that the ESP
// sinks register (read from connectors/sink), so that no panel or alert
// is silently empty.
func TestDashboardAndAlertsUseExistingMetrics(t *testing.T) {
	known := pipelineMetricNames(t)
	sinks := sinkMetricNames(t)
	if len(sinks) == 0 {
		t.Fatal("no metric names found in connectors/sink")
	}
	maps.Copy(known, sinks)
	known["up"] = true
	for _, must := range []string{"profiled_records_in_total", "profiled_profile_freshness_seconds", "profiled_consumer_lag_records",
		"profiled_state_size_bytes", "profiled_kafka_read_bytes_total", "profiled_sink_throttled_total"} {
		if !known[must] {
			t.Fatalf("%s is not among the registered metrics; the name extraction is broken: %v", must, slices.Sorted(maps.Keys(known)))
		}
	}
	exists := func(name string) bool {
		if known[name] {
			return true
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok && known[base] {
				return true
			}
		}
		return false
	}

	var exprs []struct{ where, expr string }
	for _, g := range list(readYAML(t, "prometheus/alerts.yml"), "groups") {
		for _, r := range list(g, "rules") {
			exprs = append(exprs, struct{ where, expr string }{"alert " + str(r, "alert"), str(r, "expr")})
		}
	}
	b, err := os.ReadFile("grafana/profiled.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash obj
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("grafana/profiled.json: %v", err)
	}
	ids := map[float64]bool{}
	for _, p := range list(dash, "panels") {
		id, _ := get(p, "id").(float64)
		if ids[id] {
			t.Errorf("panel id %v used twice", id)
		}
		ids[id] = true
		for _, tg := range list(p, "targets") {
			exprs = append(exprs, struct{ where, expr string }{"panel " + str(p, "title"), str(tg, "expr")})
		}
	}
	if v := str(dash, "templating", "list", 1, "definition"); len(usedMetrics(v)) == 0 {
		t.Errorf("the instance variable queries no metric: %q", v)
	} else {
		exprs = append(exprs, struct{ where, expr string }{"variable instance", v})
	}
	used := 0
	for _, e := range exprs {
		names := usedMetrics(e.expr)
		if len(names) == 0 {
			t.Errorf("%s: no metric in %q", e.where, e.expr)
		}
		for _, n := range names {
			used++
			if !exists(n) {
				t.Errorf("%s queries %s, which nothing registers", e.where, n)
			}
		}
	}
	t.Logf("%d metric references in %d queries checked against %d registered names", used, len(exprs), len(known))
}

// ---- docker compose ----

// TestComposeStack checks deploy/compose against itself and the rest of
// the repository: every image is pinned, every mounted file exists, the
// processors' flags, ports, Prometheus targets and configuration agree,
// and the Debezium connectors capture tables (created by the init SQL with
// the columns the data dictionary reads) into the topics it maps.
func TestComposeStack(t *testing.T) {
	c := readYAML(t, "compose/docker-compose.yml")
	services, _ := c["services"].(obj)
	for _, name := range []string{"kafka", "schema-registry", "connect", "connect-register", "postgres",
		"profiled-0", "profiled-1", "sink", "prometheus", "grafana"} {
		if services[name] == nil {
			t.Errorf("no service %s", name)
		}
	}
	for name, s := range services {
		image := str(s, "image")
		if get(s, "build") == nil && !pinned(image) {
			t.Errorf("service %s: image %q is not pinned to a version", name, image)
		}
		for _, v := range strs(s, "volumes") {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, ".") {
				if _, err := os.Stat(filepath.Join("compose", src)); err != nil {
					t.Errorf("service %s mounts %s: %v", name, src, err)
				}
			}
		}
	}
	if b := str(services, "profiled-0", "build", "dockerfile"); b != "deploy/Dockerfile" {
		t.Errorf("profiled is built from %q", b)
	}

	// Kafka: the listener the containers use.
	kafkaInternal := ""
	for _, l := range strings.Split(str(services, "kafka", "environment", "KAFKA_ADVERTISED_LISTENERS"), ",") {
		if strings.HasPrefix(l, "INTERNAL://") {
			kafkaInternal = strings.TrimPrefix(l, "INTERNAL://")
		}
	}
	if kafkaInternal == "" {
		t.Fatal("kafka advertises no INTERNAL listener")
	}
	if get(services, "kafka", "environment", "KAFKA_PROCESS_ROLES") != "broker,controller" {
		t.Error("kafka does not run in KRaft mode (broker and controller)")
	}

	cfg, err := dictionary.Load("compose/profiled.yaml")
	if err != nil {
		t.Fatalf("compose/profiled.yaml: %v", err)
	}
	sameDictionary(t, "compose/profiled.yaml", cfg, loadDev(t))
	if !slices.Equal(cfg.Kafka.Brokers, []string{kafkaInternal}) {
		t.Errorf("profiled.yaml's brokers %v, kafka's internal listener %s", cfg.Kafka.Brokers, kafkaInternal)
	}
	if cfg.Registry == nil || len(cfg.Registry.URLs) != 1 {
		t.Fatal("compose/profiled.yaml has no registry")
	}
	reg, err := url.Parse(cfg.Registry.URLs[0])
	if err != nil || services[reg.Hostname()] == nil ||
		!strings.HasSuffix(str(services, reg.Hostname(), "environment", "SCHEMA_REGISTRY_LISTENERS"), ":"+reg.Port()) {
		t.Errorf("registry %s is not the schema-registry service's listener", cfg.Registry.URLs[0])
	}
	for _, sk := range cfg.Sinks {
		if u, err := url.Parse(sk.URL); err == nil && sk.Type == dictionary.SinkWebhook && services[u.Hostname()] == nil {
			t.Errorf("sink %s posts to %s, which is no service", sk.Name, sk.URL)
		}
	}

	// Prometheus scrapes every instance at the port it listens on.
	prom := readYAML(t, "prometheus/prometheus.yml")
	targets := map[string]bool{}
	for _, sc := range list(prom, "scrape_configs") {
		for _, st := range list(sc, "static_configs") {
			for _, tg := range strs(st, "targets") {
				targets[tg] = true
			}
		}
	}
	for _, name := range []string{"profiled-0", "profiled-1", "sink"} {
		s := services[name]
		args := strs(s, "command")
		listen, ok := flag(args, "http-listen")
		if !ok {
			t.Errorf("%s: no --http-listen", name)
			continue
		}
		p := port(t, listen)
		if !targets[name+":"+strconv.Itoa(p)] {
			t.Errorf("%s listens on %d but Prometheus scrapes %v", name, p, slices.Sorted(maps.Keys(targets)))
		}
		published := false
		for _, m := range strs(s, "ports") {
			published = published || strings.HasSuffix(m, ":"+strconv.Itoa(p))
		}
		if !published {
			t.Errorf("%s: port %d is not published (%v)", name, p, strs(s, "ports"))
		}
		if conf, _ := flag(args, "config"); !slices.Contains(strs(s, "volumes"), "./profiled.yaml:"+conf+":ro") {
			t.Errorf("%s reads --config %s, which is not profiled.yaml", name, conf)
		}
		switch args[0] {
		case "run":
			if adv, _ := flag(args, "advertise-addr"); adv != name+":"+strconv.Itoa(p) {
				t.Errorf("%s advertises %q, want %s:%d", name, adv, name, p)
			}
			if id, _ := flag(args, "instance-id"); id != name {
				t.Errorf("%s: --instance-id %q", name, id)
			}
			dir, _ := flag(args, "data-dir")
			if !slices.ContainsFunc(strs(s, "volumes"), func(v string) bool { return strings.HasSuffix(v, ":"+dir) && !strings.HasPrefix(v, ".") }) {
				t.Errorf("%s: --data-dir %s is not on a named volume", name, dir)
			}
		case "sink":
			conn, _ := flag(args, "connector")
			if !slices.ContainsFunc(cfg.Sinks, func(s *dictionary.Sink) bool { return s.Name == conn }) {
				t.Errorf("the sink runs connector %q, which profiled.yaml does not define", conn)
			}
		default:
			t.Errorf("%s runs %q", name, args[0])
		}
	}

	// Debezium: each connector captures a table the init SQL creates, with
	// the columns the dictionary reads, into a topic the dictionary maps.
	tables := parseTables(t, "compose/postgres/init.sql")
	connectors, err := filepath.Glob("compose/connect/*.json")
	if err != nil || len(connectors) == 0 {
		t.Fatalf("no connector configurations: %v", err)
	}
	captured := map[string]bool{}
	for _, f := range connectors {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var conf map[string]string
		if err := json.Unmarshal(b, &conf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for k, want := range map[string]string{
			"connector.class": "io.debezium.connector.postgresql.PostgresConnector", "database.hostname": "postgres",
			"value.converter": "org.apache.kafka.connect.json.JsonConverter", "decimal.handling.mode": "string",
			"value.converter.replace.null.with.default": "false",
		} {
			if conf[k] != want {
				t.Errorf("%s: %s = %q, want %q", f, k, conf[k], want)
			}
		}
		table := conf["table.include.list"]
		topic := conf["topic.prefix"] + "." + table
		captured[topic] = true
		cols, ok := tables[conf["database.dbname"]+"."+strings.TrimPrefix(table, "public.")]
		if !ok {
			t.Errorf("%s captures %s.%s, which init.sql does not create", f, conf["database.dbname"], table)
			continue
		}
		src := sourceOf(cfg, topic)
		if src == nil {
			t.Errorf("%s writes %s, which profiled.yaml does not read", f, topic)
			continue
		}
		for _, col := range columnsRead(src) {
			if !cols[col] {
				t.Errorf("source %s reads column %s, which %s lacks", src.Name, col, table)
			}
		}
	}
	for _, s := range cfg.Sources {
		if strings.HasPrefix(string(s.Format), "debezium") && !captured[s.Topic] {
			t.Errorf("no connector writes %s", s.Topic)
		}
	}
}

var (
	connectDB   = regexp.MustCompile(`(?m)^\\connect (\w+)`)
	createTable = regexp.MustCompile(`(?s)CREATE TABLE (\w+) \((.*?)\n\);`)
	columnDef   = regexp.MustCompile(`(?m)^\s+(\w+)\s+\w+`)
)

// parseTables returns database.table -> columns of the init SQL.
func parseTables(t *testing.T, path string) map[string]map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]bool{}
	sql := string(b)
	conns := connectDB.FindAllStringSubmatchIndex(sql, -1)
	for i, c := range conns {
		end := len(sql)
		if i+1 < len(conns) {
			end = conns[i+1][0]
		}
		db := sql[c[2]:c[3]]
		for _, m := range createTable.FindAllStringSubmatch(sql[c[1]:end], -1) {
			cols := map[string]bool{}
			for _, col := range columnDef.FindAllStringSubmatch(m[2], -1) {
				cols[col[1]] = true
			}
			out[db+"."+m[1]] = cols
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s creates no tables", path)
	}
	return out
}

func sourceOf(d *dictionary.File, topic string) *dictionary.Source {
	for _, s := range d.Sources {
		if s.Topic == topic {
			return s
		}
	}
	return nil
}

// columnsRead are the top-level columns a Debezium source reads.
func columnsRead(s *dictionary.Source) []string {
	cols := []string{s.ProfileID.Field}
	add := func(ms []*dictionary.Mapping) {
		for _, m := range ms {
			for _, f := range m.From {
				cols = append(cols, strings.Split(f, ".")[0])
			}
		}
	}
	add(s.Attributes)
	if s.Entity != nil {
		cols = append(cols, s.Entity.Key)
		add(s.Entity.Fields)
	}
	return cols
}

// ---- Kubernetes ----

// TestKubernetesManifests checks deploy/k8s: the StatefulSet has a volume
// per pod for Badger at its --data-dir, probes on /healthz and /readyz at
// its HTTP port (routes profiled serves), its instance id and advertised
// address from the pod's name through the headless Service, resources
// within the measured footprint, and every file the configuration names
// on a mounted volume; the Services and the PodDisruptionBudget select its
// pods.
func TestKubernetesManifests(t *testing.T) {
	byKind := map[string][]obj{}
	k := readYAML(t, "k8s/kustomization.yaml")
	for _, r := range strs(k, "resources") {
		for _, d := range readYAMLDocs(t, filepath.Join("k8s", r)) {
			byKind[str(d, "kind")] = append(byKind[str(d, "kind")], d)
		}
	}
	if len(byKind["StatefulSet"]) != 1 || len(byKind["PodDisruptionBudget"]) != 1 || len(byKind["Service"]) < 1 {
		t.Fatalf("resources: %v", slices.Sorted(maps.Keys(byKind)))
	}
	for _, img := range list(k, "images") {
		if !pinned(str(img, "newName") + ":" + str(img, "newTag")) {
			t.Errorf("kustomization image %v is not pinned", img)
		}
	}
	sts := byKind["StatefulSet"][0]
	podLabels, _ := get(sts, "spec", "template", "metadata", "labels").(obj)
	selects := func(sel any) bool {
		m, _ := sel.(obj)
		if len(m) == 0 {
			return false
		}
		for k, v := range m {
			if podLabels[k] != v {
				return false
			}
		}
		return true
	}
	if !selects(get(sts, "spec", "selector", "matchLabels")) {
		t.Error("the StatefulSet's selector does not match its pods")
	}
	if !selects(get(byKind["PodDisruptionBudget"][0], "spec", "selector", "matchLabels")) {
		t.Error("the PodDisruptionBudget does not select profiled's pods")
	}
	headless := ""
	for _, svc := range byKind["Service"] {
		if !selects(get(svc, "spec", "selector")) {
			t.Errorf("service %s does not select profiled's pods", str(svc, "metadata", "name"))
		}
		if get(svc, "spec", "clusterIP") == "None" {
			headless = str(svc, "metadata", "name")
			if get(svc, "spec", "publishNotReadyAddresses") != true {
				t.Error("the headless service hides restoring pods, which forwarded lookups must reach")
			}
		}
	}
	if headless == "" || str(sts, "spec", "serviceName") != headless {
		t.Errorf("serviceName %q, headless service %q", str(sts, "spec", "serviceName"), headless)
	}
	grace, _ := get(sts, "spec", "template", "spec", "terminationGracePeriodSeconds").(uint64)
	if grace <= 30 {
		t.Errorf("terminationGracePeriodSeconds %d must exceed the 30 s drain", grace)
	}

	ctr := get(sts, "spec", "template", "spec", "containers", 0)
	args := strs(ctr, "args")
	if len(args) == 0 || args[0] != "run" {
		t.Fatalf("container args %v", args)
	}
	listen, _ := flag(args, "http-listen")
	httpPort := port(t, listen)
	var portName string
	for _, p := range list(ctr, "ports") {
		if n, _ := get(p, "containerPort").(uint64); int(n) == httpPort {
			portName = str(p, "name")
		}
	}
	if portName == "" {
		t.Fatalf("--http-listen port %d is not a container port", httpPort)
	}
	routes := servedRoutes(t)
	for probe, want := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz", "startupProbe": "/healthz"} {
		path := str(ctr, probe, "httpGet", "path")
		if path != want {
			t.Errorf("%s on %q, want %s", probe, path, want)
		}
		if !routes[path] {
			t.Errorf("%s: profiled serves no %s (routes: %v)", probe, path, slices.Sorted(maps.Keys(routes)))
		}
		if p := get(ctr, probe, "httpGet", "port"); p != portName && p != uint64(httpPort) {
			t.Errorf("%s on port %v, profiled listens on %s", probe, p, portName)
		}
	}
	env := map[string]any{}
	for _, e := range list(ctr, "env") {
		env[str(e, "name")] = e
	}
	if id, _ := flag(args, "instance-id"); id != "$(POD_NAME)" || str(env["POD_NAME"], "valueFrom", "fieldRef", "fieldPath") != "metadata.name" {
		t.Errorf("--instance-id %q is not the pod's name", id)
	}
	if adv, _ := flag(args, "advertise-addr"); adv != "$(POD_NAME)."+headless+".$(POD_NAMESPACE).svc:"+strconv.Itoa(httpPort) {
		t.Errorf("--advertise-addr %q is not the pod's name in the headless service", adv)
	}

	// Resources: --memory-budget is the whole process's (profiled derives
	// the Go heap limit, the store's caches and the Kafka buffers from it),
	// so the pod requests at least that and is limited above it by room
	// for the page cache of the memory-mapped state (docs/benchmarks.md).
	mem := func(s string) int64 {
		n, _ := strconv.ParseInt(strings.TrimRight(s, "GMiKB"), 10, 64)
		switch {
		case strings.HasSuffix(s, "Gi") || strings.HasSuffix(s, "GiB"):
			return n << 30
		case strings.HasSuffix(s, "Mi") || strings.HasSuffix(s, "MiB"):
			return n << 20
		}
		return n
	}
	limit := mem(str(ctr, "resources", "limits", "memory"))
	request := mem(str(ctr, "resources", "requests", "memory"))
	budgetFlag, _ := flag(args, "memory-budget")
	budget := mem(budgetFlag)
	if str(ctr, "resources", "requests", "cpu") == "" || budget < 256<<20 || request < budget || limit < budget*5/4 {
		t.Errorf("resources %v with --memory-budget=%s", get(ctr, "resources"), budgetFlag)
	}
	if _, ok := env["GOMEMLIMIT"]; ok {
		t.Error("GOMEMLIMIT is set: it overrides the Go limit profiled derives from --memory-budget")
	}

	// Volumes: the claim template at --data-dir; every file the
	// configuration and the flags name on a mounted volume.
	mounts := map[string]string{} // path -> volume
	for _, m := range list(ctr, "volumeMounts") {
		mounts[str(m, "mountPath")] = str(m, "name")
	}
	dataDir, _ := flag(args, "data-dir")
	claims := list(sts, "spec", "volumeClaimTemplates")
	if len(claims) != 1 || mounts[dataDir] != str(claims[0], "metadata", "name") {
		t.Errorf("--data-dir %s is not on the volume claim template (mounts %v)", dataDir, mounts)
	}
	mounted := func(file string) bool {
		for p := range mounts {
			if strings.HasPrefix(file, p+"/") {
				return true
			}
		}
		return false
	}
	confPath, _ := flag(args, "config")
	tokenPath, _ := flag(args, "api-token-file")
	cfg, err := dictionary.Load("k8s/profiled.yaml")
	if err != nil {
		t.Fatalf("k8s/profiled.yaml: %v", err)
	}
	sameDictionary(t, "k8s/profiled.yaml", cfg, loadDev(t))
	files := []string{confPath, tokenPath}
	if cfg.Kafka.SASL == nil || cfg.Kafka.TLS == nil || cfg.Store.EncryptionKey.File == "" {
		t.Fatal("k8s/profiled.yaml: want the production example: SASL over TLS and an encrypted store")
	}
	files = append(files, cfg.Kafka.SASL.Password.File, cfg.Store.EncryptionKey.File, cfg.Kafka.TLS.CAFile)
	for _, f := range files {
		if !strings.HasPrefix(f, "/") || !mounted(f) {
			t.Errorf("%q is not on a mounted volume (%v)", f, mounts)
		}
	}
	if filepath.Base(confPath) != "profiled.yaml" || !slices.Contains(strs(get(k, "configMapGenerator", 0), "files"), "profiled.yaml") {
		t.Errorf("--config %s is not the generated ConfigMap's profiled.yaml", confPath)
	}
}

// servedRoutes are the GET routes profiled's HTTP server registers, read
// from its source (cmd/profiled).
func servedRoutes(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("../cmd/profiled/*.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`"GET (/[a-z/{}]*)"`)
	routes := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			routes[string(m[1])] = true
		}
	}
	return routes
}

// ---- Dockerfile ----

// TestDockerfile: a multi-stage build on the Go version of go.mod into a
// distroless static image as a non-root user, and the binary really is
// static when built the way the Dockerfile builds it (CGO_ENABLED=0), so
// that it runs on a base image without a C library.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	froms := regexp.MustCompile(`(?m)^FROM (\S+)`).FindAllStringSubmatch(df, -1)
	if len(froms) != 2 {
		t.Fatalf("%d stages, want a build stage and a runtime stage", len(froms))
	}
	goVer := regexp.MustCompile(`(?m)^ARG GO_VERSION=(\S+)`).FindStringSubmatch(df)
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	modVer := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
	if goVer == nil || modVer == nil || !strings.HasPrefix(goVer[1], string(modVer[1])+".") {
		t.Errorf("the build stage's Go %v does not match go.mod's %s", goVer, modVer)
	}
	if !strings.HasPrefix(froms[1][1], "gcr.io/distroless/static") || !pinned(froms[1][1]) {
		t.Errorf("runtime stage %s: want a tagged gcr.io/distroless/static image", froms[1][1])
	}
	if !strings.Contains(df, "CGO_ENABLED=0 go build") || !regexp.MustCompile(`(?m)^USER 65532`).MatchString(df) {
		t.Error("the binary is not built static or the image runs as root")
	}

	bin := filepath.Join(t.TempDir(), "profiled")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./cmd/profiled")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Fatalf("the binary is dynamically linked (%v): it would not start on distroless/static", p.Type)
		}
	}
}
