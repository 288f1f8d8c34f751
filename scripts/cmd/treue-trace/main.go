// Command treue-trace reads the trace log `make run` writes (OTEL_TRACES_FILE, a JSON span
// a line) and prints one trace as a tree: each span's start within the trace, its
// duration, service and name, failures and links to other traces. Without a trace id it
// lists the latest traces.
//
//	go run ./scripts/cmd/treue-trace [-file .run/traces.jsonl] [-n 20] [trace_id]
package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

func main() {
	file := flag.String("file", ".run/traces.jsonl", "the trace log")
	n := flag.Int("n", 20, "how many of the latest traces to list without a trace id")
	flag.Parse()
	if err := run(os.Stdout, *file, flag.Arg(0), *n); err != nil {
		fmt.Fprintln(os.Stderr, "treue-trace:", err)
		os.Exit(1)
	}
}

// span is what the viewer reads of a line of the log (the OpenTelemetry SDK's span
// stub as JSON).
type span struct {
	Name        string
	SpanContext spanContext
	Parent      spanContext
	StartTime   time.Time
	EndTime     time.Time
	Status      struct{ Code, Description string }
	Links       []struct{ SpanContext spanContext }
	Resource    []struct {
		Key   string
		Value struct{ Value any }
	}
}

type spanContext struct{ TraceID, SpanID string }

func (s span) service() string {
	for _, kv := range s.Resource {
		if kv.Key == "service.name" {
			return fmt.Sprint(kv.Value.Value)
		}
	}
	return "?"
}

func run(w io.Writer, file, traceID string, n int) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	spans, linkers, err := read(f, traceID)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if traceID == "" {
		list(w, spans, n)
		return nil
	}
	if len(spans) == 0 {
		return fmt.Errorf("no span of trace %s in %s (spans are written a few seconds after they end)", traceID, file)
	}
	tree(w, spans, linkers)
	return nil
}

// read returns the spans of the trace, or of every trace when id is "", and the spans of
// other traces that link to the trace's spans (a consumer's batch of events from several
// traces continues in a trace of its own, linked to each).
func read(r io.Reader, id string) (spans, linkers []span, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		// The trace id is in the line as it is in the JSON: skip the others unparsed.
		if id != "" && !strings.Contains(string(b), id) {
			continue
		}
		var s span
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, nil, fmt.Errorf("line %d: %w", line, err)
		}
		if id == "" || s.SpanContext.TraceID == id {
			spans = append(spans, s)
		} else {
			linkers = append(linkers, s)
		}
	}
	return spans, linkers, sc.Err()
}

// tree prints one trace, each span under its parent, siblings by start time. A span
// whose parent is not in the log (the parent is still running, or was made elsewhere)
// is printed as a root. Under a span, the spans of other traces that link to it.
func tree(w io.Writer, spans, linkers []span) {
	slices.SortFunc(spans, func(a, b span) int { return a.StartTime.Compare(b.StartTime) })
	byID := map[string]bool{}
	services := map[string]bool{}
	for _, s := range spans {
		byID[s.SpanContext.SpanID] = true
		services[s.service()] = true
	}
	start, end := spans[0].StartTime, spans[0].EndTime
	for _, s := range spans {
		if s.EndTime.After(end) {
			end = s.EndTime
		}
	}
	fmt.Fprintf(w, "trace %s: %d spans, %d services, %s\n", spans[0].SpanContext.TraceID, len(spans), len(services), ms(end.Sub(start)))
	var walk func(parent string, depth int)
	walk = func(parent string, depth int) {
		for _, s := range spans {
			isRoot := parent == "" && !byID[s.Parent.SpanID]
			if !isRoot && (parent == "" || s.Parent.SpanID != parent) {
				continue
			}
			line := fmt.Sprintf("%9s %9s  %s%-10s %s", "+"+ms(s.StartTime.Sub(start)), ms(s.EndTime.Sub(s.StartTime)),
				strings.Repeat("  ", depth), s.service(), s.Name)
			if s.Status.Code == "Error" {
				line += "  ERROR " + s.Status.Description
			}
			for _, l := range s.Links {
				if l.SpanContext.TraceID != s.SpanContext.TraceID {
					line += "  (links to trace " + l.SpanContext.TraceID + ")"
				}
			}
			fmt.Fprintln(w, line)
			for _, l := range linkers {
				for _, to := range l.Links {
					if to.SpanContext.SpanID == s.SpanContext.SpanID {
						fmt.Fprintf(w, "%20s%s-> continued in trace %s: %s %s\n", "", strings.Repeat("  ", depth+1),
							l.SpanContext.TraceID, l.service(), l.Name)
					}
				}
			}
			walk(s.SpanContext.SpanID, depth+1)
		}
	}
	walk("", 0)
}

// list prints the latest n traces: when they started, their first span, how many
// spans and which services.
func list(w io.Writer, spans []span, n int) {
	type summary struct {
		id       string
		start    time.Time
		first    span
		count    int
		services []string
	}
	traces := map[string]*summary{}
	for _, s := range spans {
		t := traces[s.SpanContext.TraceID]
		if t == nil {
			t = &summary{id: s.SpanContext.TraceID, start: s.StartTime, first: s}
			traces[t.id] = t
		}
		t.count++
		if s.StartTime.Before(t.start) {
			t.start, t.first = s.StartTime, s
		}
		if svc := s.service(); !slices.Contains(t.services, svc) {
			t.services = append(t.services, svc)
		}
	}
	all := make([]*summary, 0, len(traces))
	for _, t := range traces {
		all = append(all, t)
	}
	slices.SortFunc(all, func(a, b *summary) int { return cmp.Compare(a.start.UnixNano(), b.start.UnixNano()) })
	all = all[max(0, len(all)-n):]
	for _, t := range all {
		slices.Sort(t.services)
		fmt.Fprintf(w, "%s  %s  %-3d spans  %s %q  (%s)\n", t.id, t.start.Format("15:04:05.000"), t.count,
			t.first.service(), t.first.Name, strings.Join(t.services, ", "))
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }
