package otlp

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/overmind-core/overmind-go/internal/otlptest"
)

func envOf(vars map[string]string) Env { return func(k string) string { return vars[k] } }

func TestEnvConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		vars     map[string]string
		want     Config
		warnings []string
	}{
		{
			name: "base endpoint gets /v1/traces",
			vars: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"},
			want: Config{URL: "http://collector:4318/v1/traces"},
		},
		{
			name: "base endpoint with a path",
			vars: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://gw.example.com/otlp/"},
			want: Config{URL: "https://gw.example.com/otlp/v1/traces"},
		},
		{
			name: "traces endpoint used as is, and wins",
			vars: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:4318/custom/path"},
			want: Config{URL: "http://b:4318/custom/path"},
		},
		{
			name: "traces endpoint without a path gets the root",
			vars: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:4318"},
			want: Config{URL: "http://b:4318/"},
		},
		{
			name: "credentials and query are not used",
			vars: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://u:p@b/v1/traces?x=1#f"},
			want: Config{URL: "https://b/v1/traces"},
		},
		{
			name: "headers, percent-decoded; the per-signal variable replaces the general one",
			vars: map[string]string{
				"OTEL_EXPORTER_OTLP_ENDPOINT":       "http://c",
				"OTEL_EXPORTER_OTLP_HEADERS":        "x-general=1",
				"OTEL_EXPORTER_OTLP_TRACES_HEADERS": " Authorization = Bearer%20t0k%3D ,x-team=agents,,",
			},
			want: Config{URL: "http://c/v1/traces", Headers: map[string]string{"Authorization": "Bearer t0k=", "x-team": "agents"}},
		},
		{
			name: "malformed headers are skipped, their values never printed",
			vars: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_HEADERS": "novalue-secret,bad key=secret,ok=1,x=%zz-secret"},
			want: Config{URL: "http://c/v1/traces", Headers: map[string]string{"ok": "1"}},
			warnings: []string{
				"OTEL_EXPORTER_OTLP_HEADERS: ignoring an entry that is not key=value",
				"OTEL_EXPORTER_OTLP_HEADERS: ignoring an entry that is not key=value",
				"OTEL_EXPORTER_OTLP_HEADERS: ignoring the value of x: bad percent-encoding",
			},
		},
		{
			name: "gzip, json, timeout",
			vars: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_EXPORTER_OTLP_TIMEOUT": "2500"},
			want: Config{URL: "http://c/v1/traces", Gzip: true, JSON: true, Timeout: 2500 * time.Millisecond},
		},
		{
			name: "per-signal settings win",
			vars: map[string]string{
				"OTEL_EXPORTER_OTLP_ENDPOINT":           "http://c",
				"OTEL_EXPORTER_OTLP_COMPRESSION":        "gzip",
				"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "none",
				"OTEL_EXPORTER_OTLP_PROTOCOL":           "http/json",
				"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL":    "http/protobuf",
				"OTEL_EXPORTER_OTLP_TIMEOUT":            "1000",
				"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT":     "3000",
			},
			want: Config{URL: "http://c/v1/traces", Timeout: 3 * time.Second},
		},
		{
			name: "unusable values are defaults, with a warning",
			vars: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_COMPRESSION": "zstd", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TIMEOUT": "10s"},
			want: Config{URL: "http://c/v1/traces"},
			warnings: []string{
				`ignoring OTEL_EXPORTER_OTLP_COMPRESSION="zstd": not gzip or none; not compressing`,
				"OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported; exporting with http/protobuf (point the endpoint at the collector's HTTP port, usually 4318)",
				`ignoring OTEL_EXPORTER_OTLP_TIMEOUT="10s": not a positive number of milliseconds; using 10s`,
			},
		},
		{
			name:     "insecure means plain http, as in the upstream exporter",
			vars:     map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://c", "OTEL_EXPORTER_OTLP_TRACES_INSECURE": "TRUE"},
			want:     Config{URL: "http://c/v1/traces"},
			warnings: []string{"OTEL_EXPORTER_OTLP_TRACES_INSECURE=true: sending to http://c/v1/traces without TLS"},
		},
		{
			name: "insecure=false leaves the scheme",
			vars: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_INSECURE": "false"},
			want: Config{URL: "http://c/v1/traces"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, warnings, err := envOf(tc.vars).Config()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("config %+v\nwant   %+v", got, tc.want)
			}
			if !reflect.DeepEqual(warnings, tc.warnings) {
				t.Errorf("warnings %q\nwant     %q", warnings, tc.warnings)
			}
			for _, w := range warnings {
				if strings.Contains(w, "secret") {
					t.Errorf("a warning shows a header value: %q", w)
				}
			}
		})
	}
}

func TestEnvEndpointErrors(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{"localhost:4318", "collector", "grpc://c:4317", "http://"} {
		if _, _, err := envOf(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": raw}).Config(); err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_ENDPOINT is not an http or https URL") {
			t.Errorf("%q: err = %v", raw, err)
		}
	}
	if u, err := envOf(nil).Endpoint(); u != "" || err != nil {
		t.Errorf("no endpoint: %q %v", u, err)
	}
}

func TestEnvTLS(t *testing.T) {
	t.Parallel()
	cert, key := otlptest.WriteSelfSignedCert(t)
	cfg, warnings, err := envOf(map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT":                  "https://c",
		"OTEL_EXPORTER_OTLP_CERTIFICATE":               "/nonexistent.pem",
		"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE":        cert,
		"OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE": cert,
		"OTEL_EXPORTER_OTLP_CLIENT_KEY":                key,
	}).Config()
	if err != nil || len(warnings) != 0 {
		t.Fatalf("err %v, warnings %q", err, warnings)
	}
	if cfg.TLS == nil || cfg.TLS.RootCAs == nil || len(cfg.TLS.Certificates) != 1 {
		t.Fatalf("TLS %+v", cfg.TLS)
	}

	_, warnings, _ = envOf(map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT":           "https://c",
		"OTEL_EXPORTER_OTLP_CERTIFICATE":        key, // not a certificate
		"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": cert,
	}).Config()
	want := []string{"ignoring OTEL_EXPORTER_OTLP_CERTIFICATE: no PEM certificate in " + key, "ignoring OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: no OTEL_EXPORTER_OTLP_CLIENT_KEY"}
	if !reflect.DeepEqual(warnings, want) {
		t.Errorf("warnings %q\nwant     %q", warnings, want)
	}

	cfg, warnings, _ = envOf(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_CERTIFICATE": cert}).Config()
	if cfg.TLS != nil || len(warnings) != 1 || !strings.Contains(warnings[0], "is not https") {
		t.Errorf("TLS settings on http: TLS %v, warnings %q", cfg.TLS, warnings)
	}
}
