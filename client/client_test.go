package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestFromEnv(t *testing.T) {
	t.Setenv(EnvAPIURL, "http://127.0.0.1:4318/")
	t.Setenv(EnvAPIKey, "k")
	if c := FromEnv(); c.BaseURL != "http://127.0.0.1:4318" || c.APIKey != "k" {
		t.Fatalf("%+v", c)
	}
	t.Setenv(EnvAPIURL, "")
	if c := FromEnv(); c.BaseURL != DefaultBaseURL {
		t.Fatalf("default: %+v", c)
	}
}

// TestRetrieveAsOvermind: the request Overmind's API expects, and a
// response in the reference's own example shape ({} for events and links).
func TestRetrieveAsOvermind(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/traces/4bf92f3577b34da6a3ce929d0e0e4736/" || r.Header.Get("X-Api-Key") != "ovr_key" {
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"detail":"Authentication credentials were not provided."}`))
			return
		}
		w.Write([]byte(`{"root":{"agent":"182bd5e5-6e1a-4fe4-a799-aa6d9a6ab26e","attributes":{"gen_ai.usage.input_tokens":12345678901234},
			"duration_ns":5,"end_time_ns":10,"events":{},"is_root":true,"iteration":null,"job":null,"kind":0,"links":{},"name":"n",
			"operation":"chat","parent_span_id":null,"project":"182bd5e5-6e1a-4fe4-a799-aa6d9a6ab26e","received_at":"2019-12-27T18:11:19.117Z",
			"resource_attrs":{},"scope_name":"s","scope_version":"1","service_name":"svc","span_id":"00f067aa0ba902b7","span_type":"llm_call",
			"start_time_ns":5,"status_code":0,"status_message":"","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"},
			"span_count":1,"spans":[{"events":[{"name":"exception","time_ns":7,"attributes":{}}],"links":null}],"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}`))
	}))
	defer srv.Close()
	resp, err := New(srv.URL, "ovr_key").RetrieveTrace(context.Background(), "4bf92f3577b34da6a3ce929d0e0e4736")
	if err != nil {
		t.Fatal(err)
	}
	if *resp.Root.Agent != "182bd5e5-6e1a-4fe4-a799-aa6d9a6ab26e" || resp.Root.ReceivedAt.Year() != 2019 || len(resp.Root.Events.Items) != 0 ||
		AttrText(resp.Root.Attributes["gen_ai.usage.input_tokens"]) != "12345678901234" || len(resp.Spans[0].Events.Items) != 1 {
		t.Fatalf("%+v", resp)
	}
	_, err = New(srv.URL, "").RetrieveTrace(context.Background(), "4bf92f3577b34da6a3ce929d0e0e4736")
	if err == nil || !strings.Contains(err.Error(), "403 Authentication credentials were not provided.") || IsNotFound(err) {
		t.Fatalf("error: %v", err)
	}
}

func TestServerMessage(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]string{
		`{"error":"trace x not found"}`: "trace x not found",
		`{"message":"m"}`:               "m",
		"<html>\nBad gateway":           "<html>",
		"":                              "",
	} {
		if got := serverMessage([]byte(body)); got != want {
			t.Errorf("serverMessage(%q) = %q", body, got)
		}
	}
	if got := (&Error{Method: "GET", URL: "u", StatusCode: 502}).Error(); got != "GET u: 502 Bad Gateway" {
		t.Errorf("%q", got)
	}
}

func TestEventsJSON(t *testing.T) {
	t.Parallel()
	var e Events
	for in, n := range map[string]int{`{}`: 0, `null`: 0, `[{"name":"a"}]`: 1, `{"items":[{"name":"a"},{"name":"b"}],"dropped":3}`: 2} {
		if err := json.Unmarshal([]byte(in), &e); err != nil || len(e.Items) != n {
			t.Errorf("%s: %+v %v", in, e, err)
		}
	}
	if err := json.Unmarshal([]byte(`{"items":[{"name":"a"}],"dropped":3}`), &e); err != nil || e.Dropped != 3 {
		t.Errorf("dropped: %+v %v", e, err)
	}
	if b, _ := json.Marshal(Events{}); string(b) != "{}" {
		t.Errorf("empty events marshal as %s", b)
	}
	if err := json.Unmarshal([]byte(`"x"`), &e); err == nil {
		t.Error("a string was read as events")
	}
}

func TestAttrText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v    any
		want string
	}{{"s", "s"}, {json.Number("12"), "12"}, {float64(1e6), "1000000"}, {0.5, "0.5"}, {true, "true"}, {[]any{"a", 1.0}, `["a",1]`}, {nil, ""}} {
		if got := AttrText(tc.v); got != tc.want {
			t.Errorf("AttrText(%#v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}
