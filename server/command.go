package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/overmind-core/overmind-go/server/internal/store"
)

// DefaultAddr is where `overmind serve` listens: the OTLP/HTTP port, on
// this machine only.
const DefaultAddr = "127.0.0.1:4318"

// retentionInterval is how often retention runs while serving.
const retentionInterval = 10 * time.Minute

// Command runs `overmind serve` with args until ctx ends or the process is
// interrupted, and returns the exit status: 0 after a clean stop, 1 when
// the server could not start or failed, 2 for bad flags.
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("overmind serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", DefaultAddr, "address to listen on, host:port")
	db := fs.String("db", "", "database file (default "+displayPath(DefaultDBPath())+"); :memory: keeps nothing")
	retain := fs.String("retain", "7d", "delete traces older than this (30m, 12h, 7d; 0 keeps them)")
	maxSize := fs.String("max-db-size", "1GB", "delete the oldest traces while the database is larger (500MB, 2GB; 0 for no cap)")
	apiKey := fs.String("api-key", "", "require this key (X-Api-Key) on every request; required to listen beyond this machine")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: overmind serve [-addr host:port] [-db path] [-retain 7d] [-max-db-size 1GB] [-api-key key]\n\n"+
			"Receives OpenTelemetry traces over OTLP/HTTP, stores them, and shows them at http://ADDR/.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "overmind serve: unexpected arguments %q\n", fs.Args())
		return 2
	}
	cfg := Config{DB: *db, APIKey: *apiKey, Log: log.New(stderr, "overmind serve: ", 0)}
	var err error
	if cfg.Retain, err = ParseRetain(*retain); err != nil {
		fmt.Fprintf(stderr, "overmind serve: -retain: %v\n", err)
		return 2
	}
	if cfg.MaxDBBytes, err = ParseSize(*maxSize); err != nil {
		fmt.Fprintf(stderr, "overmind serve: -max-db-size: %v\n", err)
		return 2
	}
	if cfg.APIKey == "" && !loopbackAddr(*addr) {
		fmt.Fprintf(stderr, "overmind serve: %s is reachable from other machines: set -api-key to require a key, or listen on 127.0.0.1\n", *addr)
		return 2
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, cfg, *addr, stdout); err != nil {
		fmt.Fprintf(stderr, "overmind serve: %v\n", err)
		return 1
	}
	return 0
}

// serve listens on addr and serves until ctx ends.
func serve(ctx context.Context, cfg Config, addr string, stdout io.Writer) error {
	if cfg.DB == "" {
		cfg.DB = DefaultDBPath()
		if err := os.MkdirAll(filepath.Dir(cfg.DB), 0o700); err != nil {
			return fmt.Errorf("database directory: %w", err)
		}
	}
	s, err := New(cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	hs.RegisterOnShutdown(s.CloseFeeds)
	go s.retainLoop(ctx)
	fmt.Fprintln(stdout, startLine(ln.Addr().String(), cfg))

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// startLine is the one line printed at start: what to set to send spans
// here, and where to look at them.
func startLine(addr string, cfg Config) string {
	base := "http://" + addr
	set := "OTEL_EXPORTER_OTLP_ENDPOINT=" + base + " or OVERMIND_API_URL=" + base
	page := base + "/"
	if cfg.APIKey != "" {
		set = "OVERMIND_API_URL=" + base + " OVERMIND_API_KEY=<the -api-key> (or OTEL_EXPORTER_OTLP_ENDPOINT=" + base +
			" OTEL_EXPORTER_OTLP_HEADERS=X-Api-Key=<the -api-key>)"
		page = base + "/?api_key=<the -api-key>"
	}
	db := displayPath(cfg.DB)
	if cfg.DB == store.Memory {
		db = "in memory only"
	}
	return fmt.Sprintf("overmind serve: send spans with %s; see them at %s (database %s)", set, page, db)
}

// retainLoop applies retention at start and every retentionInterval.
func (s *Server) retainLoop(ctx context.Context) {
	t := time.NewTicker(retentionInterval)
	defer t.Stop()
	for {
		if n, err := s.Retain(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Log.Printf("retention: %v", err)
		} else if n > 0 {
			s.cfg.Log.Printf("retention: deleted %d traces", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DefaultDBPath is the database file used without -db: traces.db in an
// overmind folder of the user's cache directory (of the temporary
// directory when there is none).
func DefaultDBPath() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "overmind", "traces.db")
}

// displayPath shortens a path under the home directory to ~/...
func displayPath(p string) string {
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		if rest, ok := strings.CutPrefix(p, home+string(filepath.Separator)); ok {
			return "~" + string(filepath.Separator) + rest
		}
	}
	return p
}

// loopbackAddr reports whether a listen address is reachable from this
// machine only.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false // all interfaces
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ParseRetain reads a retention age: a Go duration (30m, 12h) or a number
// of days (7d); 0 keeps traces forever.
func ParseRetain(v string) (time.Duration, error) {
	if v == "0" || v == "" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("want a duration such as 7d, 12h or 30m, got %q", v)
		}
		return time.Duration(n * 24 * float64(time.Hour)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("want a duration such as 7d, 12h or 30m, got %q", v)
	}
	return d, nil
}

// ParseSize reads a size: bytes, or a number with KB, MB, GB (powers of
// 1000) or KiB, MiB, GiB (powers of 1024); 0 for no cap.
func ParseSize(v string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	num, mult := strings.TrimSpace(v), 1.0
	for _, u := range units {
		if rest, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want a size such as 500MB or 2GB, got %q", v)
	}
	return int64(n * mult), nil
}
