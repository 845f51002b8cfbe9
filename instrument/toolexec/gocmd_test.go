package toolexec

import (
	"reflect"
	"strings"
	"testing"
)

func TestGoCommandArgs(t *testing.T) {
	for _, tc := range []struct {
		self    string
		args    []string
		goflags string
		want    []string
		err     string
	}{
		{"/bin/overmind", []string{"build", "./..."}, "", []string{"build", "-toolexec=/bin/overmind toolexec", "./..."}, ""},
		{"/bin/overmind", []string{"-C", "dir", "test", "-race", "./..."}, "-mod=mod", []string{"-C", "dir", "test", "-toolexec=/bin/overmind toolexec", "-race", "./..."}, ""},
		{"/my tools/overmind", []string{"run", ".", "-toolexec"}, "", []string{"run", "-toolexec='/my tools/overmind' toolexec", ".", "-toolexec"}, ""},
		{"/it's/overmind", []string{"vet"}, "", []string{"vet", `-toolexec="/it's/overmind" toolexec`}, ""},
		{"/bin/overmind", []string{"build", "-toolexec=x", "."}, "", nil, "already set on the command line"},
		{"/bin/overmind", []string{"test", ".", "-toolexec", "x"}, "", nil, "already set on the command line"},
		{"/bin/overmind", []string{"build", "."}, "-toolexec=x", nil, "GOFLAGS already sets -toolexec"},
		{"/bin/overmind", []string{"mod", "tidy"}, "", nil, `unsupported command "mod"`},
		{"/bin/overmind", nil, "", nil, "missing command"},
		{"/bin/over'mind\"", []string{"build"}, "", nil, "both kinds of quotes"},
	} {
		got, err := goCommandArgs(tc.self, tc.args, tc.goflags)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("goCommandArgs(%q, %q): err = %v, want %q", tc.self, tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("goCommandArgs(%q, %q) = %q, %v; want %q", tc.self, tc.args, got, err, tc.want)
		}
	}
}
