// Package tracecmd is `overmind trace` and `overmind traces`: read traces
// back through the traces API (from Overmind or from `overmind serve`) and
// print them, a trace as the same tree the runtime's debug output prints.
package tracecmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/overmind-core/overmind-go/client"
	"github.com/overmind-core/overmind-go/internal/spantree"
)

// Trace runs `overmind trace [-json] [-color] TRACE_ID` and returns the
// exit status.
func Trace(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("overmind trace", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the API's response as it came")
	color := fs.Bool("color", spantree.Colorable(stdout), "color the tree (default on a terminal)")
	c := clientFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: overmind trace [-json] [-url URL] TRACE_ID\n\n"+
			"Prints a trace read from OVERMIND_API_URL (with OVERMIND_API_KEY) as a tree.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitForFlags(err)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	id := strings.TrimSpace(fs.Arg(0))
	if *asJSON {
		body, err := c.RetrieveTraceJSON(ctx, id)
		if err != nil {
			return fail(stderr, "trace", c, err)
		}
		stdout.Write(body)
		if len(body) > 0 && body[len(body)-1] != '\n' {
			io.WriteString(stdout, "\n")
		}
		return 0
	}
	resp, err := c.RetrieveTrace(ctx, id)
	if err != nil {
		return fail(stderr, "trace", c, err)
	}
	io.WriteString(stdout, spantree.Render(Tree(resp), *color))
	return 0
}

// Traces runs `overmind traces`: the most recent traces, newest first.
func Traces(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("overmind traces", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 20, "how many traces")
	var p client.ListParams
	fs.StringVar(&p.Service, "service", "", "only this service.name")
	fs.StringVar(&p.Status, "status", "", "only this status: success, failed, cancelled, partial, or error (any span failed)")
	fs.StringVar(&p.SpanType, "type", "", "only traces with a span of this type (llm_call, tool_call, workflow, ...)")
	fs.StringVar(&p.Text, "q", "", "only traces whose span names, inputs or outputs contain this text")
	since := fs.Duration("since", 0, "only traces started within this long (1h, 30m)")
	c := clientFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: overmind traces [-n N] [-service name] [-status s] [-type t] [-q text] [-since d] [-url URL]\n\n"+
			"Lists recent traces of overmind serve at OVERMIND_API_URL.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitForFlags(err)
	}
	if fs.NArg() > 0 || *n < 1 {
		fs.Usage()
		return 2
	}
	if *since > 0 {
		p.Since = time.Now().Add(-*since)
	}
	var all []client.TraceSummary
	for len(all) < *n {
		p.Limit = min(*n-len(all), 500)
		page, err := c.ListTraces(ctx, p)
		if err != nil {
			return fail(stderr, "traces", c, err)
		}
		all = append(all, page.Traces...)
		if p.Cursor = page.NextCursor; p.Cursor == "" {
			break
		}
	}
	printList(stdout, all)
	return 0
}

// printList writes one line per trace.
func printList(w io.Writer, traces []client.TraceSummary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STARTED\tTRACE ID\tROOT\tSERVICE\tDURATION\tSPANS\tSTATUS\tTOKENS IN/OUT")
	for _, t := range traces {
		tokens := "-"
		if t.InputTokens > 0 || t.OutputTokens > 0 {
			tokens = fmt.Sprintf("%d/%d", t.InputTokens, t.OutputTokens)
		}
		status := t.Status
		if t.ErrorCount > 0 && status != "failed" {
			status += fmt.Sprintf(" (%d failed)", t.ErrorCount)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n",
			time.Unix(0, t.StartTimeNs).Local().Format("2006-01-02 15:04:05"), t.TraceID, orDash(t.RootName),
			orDash(t.ServiceName), spantree.FormatDuration(time.Duration(t.DurationNs)), t.SpanCount, status, tokens)
	}
	tw.Flush()
}

// Tree is a traces API response in the span tree's model.
func Tree(resp *client.TraceRetrieveResponse) spantree.Trace {
	t := spantree.Trace{ID: resp.TraceID, Spans: make([]spantree.Span, len(resp.Spans))}
	for i, s := range resp.Spans {
		ts := spantree.Span{
			SpanID: s.SpanID,
			Name:   s.Name,
			Start:  time.Unix(0, s.StartTimeNs),
			End:    time.Unix(0, s.EndTimeNs),
			Status: spantree.Status(s.StatusCode),
			Attrs:  make(map[string]string, len(s.Attributes)),
		}
		if s.ParentSpanID != nil {
			ts.ParentID = *s.ParentSpanID
		}
		for k, v := range s.Attributes {
			ts.Attrs[k] = client.AttrText(v)
		}
		t.Spans[i] = ts
	}
	return t
}

// clientFlags registers -url and -api-key, whose defaults come from the
// environment, and returns the client they configure once parsed.
func clientFlags(fs *flag.FlagSet) *client.Client {
	c := client.FromEnv()
	fs.StringVar(&c.BaseURL, "url", c.BaseURL, "the API's base URL (default $"+client.EnvAPIURL+", else Overmind's)")
	fs.StringVar(&c.APIKey, "api-key", c.APIKey, "the API key (default $"+client.EnvAPIKey+")")
	return c
}

func fail(stderr io.Writer, cmd string, c *client.Client, err error) int {
	fmt.Fprintf(stderr, "overmind %s: %v\n", cmd, err)
	if client.IsNotFound(err) {
		fmt.Fprintf(stderr, "overmind %s: is %s the server the trace was sent to? (-url or $%s chooses it)\n", cmd, c.BaseURL, client.EnvAPIURL)
	}
	return 1
}

func exitForFlags(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
