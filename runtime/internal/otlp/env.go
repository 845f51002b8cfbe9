package otlp

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
)

// Env is the environment: os.Getenv in programs, a map in tests.
type Env func(string) string

// setting is a variable's value: the per-signal OTEL_EXPORTER_OTLP_TRACES_X
// when set, else OTEL_EXPORTER_OTLP_X, with the name of the one used.
func (env Env) setting(x string) (value, name string) {
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_" + x, "OTEL_EXPORTER_OTLP_" + x} {
		if v := strings.TrimSpace(env(name)); v != "" {
			return v, name
		}
	}
	return "", ""
}

// Endpoint is the traces URL the OTEL_EXPORTER_OTLP_* variables select,
// or "" when neither endpoint variable is set. The per-signal
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as it is (its root path when
// it has none); OTEL_EXPORTER_OTLP_ENDPOINT is a base to which /v1/traces
// is appended.
func (env Env) Endpoint() (string, error) {
	if raw := strings.TrimSpace(env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")); raw != "" {
		u, err := parseEndpoint("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raw)
		if err != nil {
			return "", err
		}
		if u.Path == "" {
			u.Path = "/"
		}
		return u.String(), nil
	}
	raw := strings.TrimSpace(env("OTEL_EXPORTER_OTLP_ENDPOINT"))
	if raw == "" {
		return "", nil
	}
	u, err := parseEndpoint("OTEL_EXPORTER_OTLP_ENDPOINT", raw)
	if err != nil {
		return "", err
	}
	u.Path = path.Join(u.Path, "/v1/traces")
	return u.String(), nil
}

// parseEndpoint parses an endpoint variable's URL, keeping only what the
// exporter uses: scheme, host and path (as the upstream exporter does,
// which drops user information and query).
func parseEndpoint(name, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s is not an http or https URL", name)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}, nil
}

// Config reads the standard exporter's configuration from the
// OTEL_EXPORTER_OTLP_* variables, each per-signal TRACES_ variable
// overriding its general one, as the upstream otlptracehttp exporter
// reads them. A value it cannot use is reported in warnings and left at
// its default; an unusable endpoint is an error.
func (env Env) Config() (cfg Config, warnings []string, err error) {
	cfg.URL, err = env.Endpoint()
	if err != nil {
		return Config{}, nil, err
	}
	if cfg.URL == "" {
		return Config{}, nil, errors.New("no OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	}
	w := func(format string, args ...any) { warnings = append(warnings, fmt.Sprintf(format, args...)) }

	if v, name := env.setting("INSECURE"); strings.EqualFold(v, "true") && strings.HasPrefix(cfg.URL, "https://") {
		// As the upstream exporter does: insecure means plain http.
		cfg.URL = "http://" + strings.TrimPrefix(cfg.URL, "https://")
		w("%s=true: sending to %s without TLS", name, cfg.URL)
	}
	if v, name := env.setting("HEADERS"); v != "" {
		cfg.Headers = parseHeaders(name, v, w)
	}
	switch v, name := env.setting("COMPRESSION"); strings.ToLower(v) {
	case "gzip":
		cfg.Gzip = true
	case "", "none":
	default:
		w("ignoring %s=%q: not gzip or none; not compressing", name, v)
	}
	switch v, name := env.setting("PROTOCOL"); v {
	case "", "http/protobuf":
	case "http/json":
		cfg.JSON = true
	case "grpc":
		w("%s=grpc is not supported; exporting with http/protobuf (point the endpoint at the collector's HTTP port, usually 4318)", name)
	default:
		w("ignoring %s=%q: not http/protobuf or http/json; exporting with http/protobuf", name, v)
	}
	if v, name := env.setting("TIMEOUT"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			w("ignoring %s=%q: not a positive number of milliseconds; using %v", name, v, DefaultTimeout)
		} else {
			cfg.Timeout = time.Duration(ms) * time.Millisecond
		}
	}
	cfg.TLS = env.tlsConfig(w)
	if cfg.TLS != nil && strings.HasPrefix(cfg.URL, "http://") {
		w("the OTEL_EXPORTER_OTLP_* certificate settings are ignored: %s is not https", cfg.URL)
		cfg.TLS = nil
	}
	return cfg, warnings, nil
}

// tlsConfig is the TLS configuration the certificate variables give, or
// nil when none is set (the system's roots, no client certificate).
func (env Env) tlsConfig(w func(string, ...any)) *tls.Config {
	var conf tls.Config
	set := false
	if file, name := env.setting("CERTIFICATE"); file != "" {
		if pool, err := certPool(file); err != nil {
			w("ignoring %s: %v", name, err)
		} else {
			conf.RootCAs, set = pool, true
		}
	}
	certFile, certName := env.setting("CLIENT_CERTIFICATE")
	keyFile, keyName := env.setting("CLIENT_KEY")
	switch {
	case certFile != "" && keyFile != "":
		if cert, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
			w("ignoring %s and %s: %v", certName, keyName, err)
		} else {
			conf.Certificates, set = []tls.Certificate{cert}, true
		}
	case certFile != "":
		w("ignoring %s: no OTEL_EXPORTER_OTLP_CLIENT_KEY", certName)
	case keyFile != "":
		w("ignoring %s: no OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", keyName)
	}
	if !set {
		return nil
	}
	conf.MinVersion = tls.VersionTLS12
	return &conf
}

// certPool is the pool of the PEM certificates in file.
func certPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no PEM certificate in %s", file)
	}
	return pool, nil
}

// parseHeaders parses the headers variable name: comma-separated
// key=value pairs, each value percent-decoded. Malformed pairs are
// reported through w and skipped.
func parseHeaders(name, raw string, w func(string, ...any)) map[string]string {
	headers := map[string]string{}
	for _, pair := range strings.Split(raw, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || !validHeaderName(k) {
			w("%s: ignoring an entry that is not key=value", name)
			continue
		}
		decoded, err := url.PathUnescape(v)
		if err != nil {
			w("%s: ignoring the value of %s: bad percent-encoding", name, k)
			continue
		}
		headers[k] = strings.TrimSpace(decoded)
	}
	return headers
}

// validHeaderName reports whether k is an HTTP token.
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range []byte(k) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
