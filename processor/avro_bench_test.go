package processor_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/profiled/profiled/processor"
	"github.com/profiled/profiled/schemas/profileavro"
	"github.com/profiled/profiled/schemas/registry"
)

// BenchmarkPipelineFormats runs the same Postgres and MySQL changes end to
// end (8,000 customers of a wide table, each created, updated and given
// three orders: 40,000 records), JSON in and JSON out against Avro in
// (Confluent wire format, schemas from a registry) and Avro out. Compare
// with benchstat -col /format.
func BenchmarkPipelineFormats(b *testing.B) {
	reg := srfake.New()
	defer reg.Close()
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		b.Fatal(err)
	}
	jsonRecs, avroRecs := avroStream(b, cl, 8000)
	for _, format := range []string{"json", "avro"} {
		b.Run("format="+format, func(b *testing.B) {
			d := parseAvroE2E(b, reg.URL(), "debezium-json", "json")
			recs := jsonRecs
			var mod func(*processor.Options)
			if format == "avro" {
				d = parseAvroE2E(b, reg.URL(), "debezium-avro", "avro")
				recs = avroRecs
				s, err := profileavro.Generate(d)
				if err != nil {
					b.Fatal(err)
				}
				id, _, err := profileavro.Register(context.Background(), cl, d.Output.Subject, s)
				if err != nil {
					b.Fatal(err)
				}
				mod = func(o *processor.Options) {
					o.Schemas = registry.NewSchemaCache(cl, registry.SchemaCacheOptions{})
					o.ProfileEncoder = profileavro.NewEncoder(s, id)
				}
			}
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				k := newCluster(b, d)
				k.produce(recs)
				dir := b.TempDir()
				b.StartTimer()
				in := k.startOpts(dir, mod)
				k.waitIdleEvery(10*time.Minute, 10*time.Millisecond)
				b.StopTimer()
				if err := in.stop(); err != nil {
					b.Fatal(err)
				}
				k.c.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(len(recs))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
