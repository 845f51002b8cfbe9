package rewrite

import (
	"testing"

	"github.com/overmind-core/overmind-go/internal/spankind"
)

// TestSpanKindsAreDirectiveKinds checks that the one table of fixed span
// types names directive kinds the grammar knows.
func TestSpanKindsAreDirectiveKinds(t *testing.T) {
	for _, k := range spankind.Kinds {
		if !knownKind(Kind(k.Directive)) {
			t.Errorf("spankind.Kinds names %q, which is not a directive kind", k.Directive)
		}
		if spanTypes[Kind(k.Directive)] != k.Type || spanTypeConsts[k.Type] != k.Const {
			t.Errorf("%s: the rewrite's tables disagree with spankind.Kinds", k.Directive)
		}
	}
}
