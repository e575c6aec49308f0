package main

import (
	"image/color"
	"math"
	"path/filepath"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// writePlots draws the report's PNGs and returns name -> file name for those it wrote.
// A plot that fails is reported in the notes, never fatal.
func (s *suite) writePlots(meds []median) map[string]string {
	out := map[string]string{}
	save := func(name string, p *plot.Plot, w, h vg.Length) {
		if p == nil {
			return
		}
		file := name + ".png"
		if err := p.Save(w, h, filepath.Join(s.outDir, file)); err != nil {
			s.note("plot %s: %v", name, err)
			return
		}
		out[name] = file
	}
	save("rps", s.barPlot(meds, "Requests per second (median)", "req/s", func(m median) float64 { return m.RPS }), 10*vg.Inch, 5*vg.Inch)
	save("latency", s.latencyPlot(meds), 10*vg.Inch, 5*vg.Inch)
	save("forced_yield", s.fyPlot(), 7*vg.Inch, 4.5*vg.Inch)
	save("startup_time", s.startupPlot("Start-up time to the first answer", "seconds", 0), 7*vg.Inch, 4.5*vg.Inch)
	save("startup_rss", s.startupPlot("Memory after the first answer (VmHWM)", "MiB", 2), 7*vg.Inch, 4.5*vg.Inch)
	return out
}

// okLabels returns the scenario labels where at least one binary has a figure.
func okLabels(meds []median) []string {
	var l []string
	for _, lab := range labels(meds) {
		for _, m := range byBin(meds, lab) {
			if m.Status == statusOK {
				l = append(l, lab)
				break
			}
		}
	}
	return l
}

func rotateX(p *plot.Plot) {
	p.X.Tick.Label.Rotation = math.Pi / 6
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.YAlign = draw.YCenter
}

// barPlot draws one bar per binary per scenario; a missing figure is a missing bar.
func (s *suite) barPlot(meds []median, title, ylabel string, val func(median) float64) *plot.Plot {
	labs := okLabels(meds)
	if len(labs) == 0 {
		return nil
	}
	p := plot.New()
	p.Title.Text, p.Y.Label.Text = title, ylabel
	w := vg.Points(14)
	for i, bin := range s.bins {
		v := make(plotter.Values, len(labs))
		for j, lab := range labs {
			if m, ok := byBin(meds, lab)[bin.Name]; ok && m.Status == statusOK {
				v[j] = val(m)
			}
		}
		bars, err := plotter.NewBarChart(v, w)
		if err != nil {
			return nil
		}
		bars.Color, bars.LineStyle.Width = plotutil.Color(i), 0
		bars.Offset = w * vg.Length(float64(i)-float64(len(s.bins)-1)/2)
		p.Add(bars)
		p.Legend.Add(bin.Name, bars)
	}
	p.Legend.Top = true
	p.Y.Max *= 1.15 // room for the legend
	p.NominalX(labs...)
	rotateX(p)
	return p
}

// latencyPlot draws p50 and p99 per binary per scenario.
func (s *suite) latencyPlot(meds []median) *plot.Plot {
	labs := okLabels(meds)
	if len(labs) == 0 {
		return nil
	}
	p := plot.New()
	p.Title.Text, p.Y.Label.Text = "Latency percentiles (median over rounds)", "ms"
	w := vg.Points(9)
	n := 2 * len(s.bins)
	k := 0
	for i, bin := range s.bins {
		for _, pc := range []struct {
			name string
			f    func(median) float64
		}{{"p50", func(m median) float64 { return m.P50 }}, {"p99", func(m median) float64 { return m.P99 }}} {
			v := make(plotter.Values, len(labs))
			for j, lab := range labs {
				if m, ok := byBin(meds, lab)[bin.Name]; ok && m.Status == statusOK {
					v[j] = pc.f(m)
				}
			}
			bars, err := plotter.NewBarChart(v, w)
			if err != nil {
				return nil
			}
			bars.Color, bars.LineStyle.Width = plotutil.Color(i), 0
			if pc.name == "p50" {
				bars.Color = lighten(plotutil.Color(i))
			}
			bars.Offset = w * vg.Length(float64(k)-float64(n-1)/2)
			k++
			p.Add(bars)
			p.Legend.Add(bin.Name+" "+pc.name, bars)
		}
	}
	p.Legend.Top = true
	p.Y.Max *= 1.15 // room for the legend
	p.NominalX(labs...)
	rotateX(p)
	return p
}

// fyPlot draws M loops per 10 s against forced-yield (log x), with the lua5.3 ceiling and
// the document's figures.
func (s *suite) fyPlot() *plot.Plot {
	m, _ := fyMedians(s.fy)
	pts := fyPoints(s.fy)
	if len(pts) == 0 {
		return nil
	}
	p := plot.New()
	p.Title.Text = "Loops in 10 s vs tune.lua.forced-yield"
	p.X.Label.Text, p.Y.Label.Text = "instructions between two forced yields", "millions of loops in 10 s"
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	for i, bin := range s.bins {
		var xy plotter.XYs
		for _, fy := range pts {
			if v, ok := m[bin.Name][fy]; ok {
				xy = append(xy, plotter.XY{X: float64(fy), Y: v})
			}
		}
		addLine(p, bin.Name, xy, i, false)
	}
	var doc plotter.XYs
	for _, fy := range pts {
		if v, err := strconv.ParseFloat(docForcedYield[fy], 64); err == nil {
			doc = append(doc, plotter.XY{X: float64(fy), Y: v})
		}
	}
	addLine(p, "document (HAProxy, laptop)", doc, len(s.bins), true)
	if ceil, ok := m["lua5.3"][0]; ok {
		xy := plotter.XYs{{X: float64(pts[0]), Y: ceil}, {X: float64(pts[len(pts)-1]), Y: ceil}}
		addLine(p, "lua5.3 ceiling (no hook)", xy, len(s.bins)+1, true)
	}
	p.Y.Min = 0
	p.Legend.Top, p.Legend.Left = false, false // the curves climb to the top left
	p.Legend.YOffs = vg.Points(10)
	return p
}

// startupPlot draws one line per binary and script variant against the backend count
// (log x); field 0 is seconds, 2 is VmHWM.
func (s *suite) startupPlot(title, ylabel string, field int) *plot.Plot {
	m, _ := startupMedians(s.startup)
	if len(m) == 0 {
		return nil
	}
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, "backends", ylabel
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	i := 0
	for _, bin := range s.bins {
		for _, script := range []bool{false, true} {
			var xy plotter.XYs
			for k, v := range m {
				if k.bin == bin.Name && k.script == script {
					y := v[field]
					if field == 2 {
						y /= 1 << 20
					}
					xy = append(xy, plotter.XY{X: float64(k.backends), Y: y})
				}
			}
			sort.Slice(xy, func(a, b int) bool { return xy[a].X < xy[b].X })
			name := bin.Name
			if script {
				name += " + core.backends script"
			}
			addLine(p, name, xy, i, script)
			i++
		}
	}
	p.Y.Min = 0
	p.Legend.Top, p.Legend.Left = true, true
	return p
}

// addLine adds a line with points; dashed lines are references.
func addLine(p *plot.Plot, name string, xy plotter.XYs, i int, dashed bool) {
	if len(xy) == 0 {
		return
	}
	l, pts, err := plotter.NewLinePoints(xy)
	if err != nil {
		return
	}
	l.Color, pts.Color = plotutil.Color(i), plotutil.Color(i)
	pts.Shape = plotutil.Shape(i)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	p.Add(l, pts)
	p.Legend.Add(name, l, pts)
}

// lighten mixes c with two parts of white (the p50 bars next to the p99 ones).
func lighten(c color.Color) color.Color {
	r, g, b, _ := c.RGBA()
	mix := func(v uint32) uint8 { return uint8((v>>8 + 2*255) / 3) }
	return color.RGBA{mix(r), mix(g), mix(b), 255}
}
