package main

import (
	"bytes"
	"fmt"
	"image/color"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Colours of the chart, one per series.
var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
}

// chart renders the report's chart as PNG: throughput and latency by
// system, or throughput and peak RSS by scale. nil when there is nothing to
// draw.
func (rp *report) chart() (_ []byte, err error) {
	// gonum/plot panics on data it cannot draw; a chart is not worth the
	// measurements, so that becomes an error the report notes.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("rendering chart: %v", r)
		}
	}()
	var left, right *plot.Plot
	switch {
	case len(rp.scales) > 0:
		left, right, err = rp.scaleCharts()
	case len(rp.results) > 0:
		left, right, err = rp.systemCharts()
	default:
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	img := vgimg.New(12*vg.Inch, 4.5*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Inch / 4, PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 8}
	canvases := plot.Align([][]*plot.Plot{{left, right}}, tiles, dc)
	left.Draw(canvases[0][0])
	right.Draw(canvases[0][1])
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("rendering chart: %w", err)
	}
	return buf.Bytes(), nil
}

// bars adds one bar series at offset to p.
func bars(p *plot.Plot, values plotter.Values, width vg.Length, offset vg.Length, c color.Color, label string) error {
	b, err := plotter.NewBarChart(values, width)
	if err != nil {
		return fmt.Errorf("charting %s: %w", label, err)
	}
	b.Offset = offset
	b.Color = c
	b.LineStyle.Width = 0
	p.Add(b)
	if label != "" {
		p.Legend.Add(label, b)
	}
	return nil
}

func (rp *report) systemCharts() (*plot.Plot, *plot.Plot, error) {
	var names []string
	var rates, p50, p99 plotter.Values
	for _, r := range rp.results {
		if r.skipped {
			continue
		}
		names = append(names, r.name)
		rates = append(rates, r.rate/1000)
		msOf := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
		p50 = append(p50, msOf(quantile(r.lat, 0.5)))
		p99 = append(p99, msOf(quantile(r.lat, 0.99)))
	}
	tp := plot.New()
	tp.Title.Text = "Throughput (higher is better)"
	tp.Y.Label.Text = "thousand input events/s"
	if err := bars(tp, rates, vg.Points(40), 0, palette[0], ""); err != nil {
		return nil, nil, err
	}
	tp.NominalX(names...)

	lp := plot.New()
	lp.Title.Text = fmt.Sprintf("Latency input → profile at %.0f%% of max rate", 100*rp.share)
	if rp.latencyEPS > 0 {
		lp.Title.Text = fmt.Sprintf("Latency input → profile at %.0f events/s", rp.latencyEPS)
	}
	lp.Y.Label.Text = "ms (max: see the table)"
	w := vg.Points(24)
	for i, s := range []struct {
		v     plotter.Values
		label string
	}{{p50, "p50"}, {p99, "p99"}} {
		if err := bars(lp, s.v, w, (vg.Length(i)-0.5)*w, palette[i], s.label); err != nil {
			return nil, nil, err
		}
	}
	lp.Legend.Top = true
	lp.Legend.Left = true
	lp.Legend.XOffs = vg.Points(8)
	lp.NominalX(names...)
	return tp, lp, nil
}

func (rp *report) scaleCharts() (*plot.Plot, *plot.Plot, error) {
	var names []string
	var rates, rss plotter.Values
	for _, s := range rp.scales {
		names = append(names, strconv.Itoa(s.customers)+" "+s.res.name)
		rates = append(rates, s.res.rate/1000)
		rss = append(rss, float64(s.res.peakRSS)/(1<<20))
	}
	tp := plot.New()
	tp.Title.Text = "Throughput by number of customers"
	tp.Y.Label.Text = "thousand input events/s"
	if err := bars(tp, rates, vg.Points(40), 0, palette[0], ""); err != nil {
		return nil, nil, err
	}
	tp.NominalX(names...)
	mp := plot.New()
	mp.Title.Text = "Peak RSS by number of customers"
	mp.Y.Label.Text = "MiB"
	if err := bars(mp, rss, vg.Points(40), 0, palette[1], ""); err != nil {
		return nil, nil, err
	}
	mp.NominalX(names...)
	return tp, mp, nil
}
