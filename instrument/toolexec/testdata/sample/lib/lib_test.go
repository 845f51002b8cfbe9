package lib

import "testing"

func TestGreet(t *testing.T) {
	if got := Greet("test"); got != "hello, test" {
		t.Fatalf("Greet = %q", got)
	}
}

func TestBoom(t *testing.T) {
	defer func() {
		if r := recover(); r != "boom 2" {
			t.Fatalf("recovered %v", r)
		}
	}()
	Boom(2)
}

func TestCounter(t *testing.T) {
	var c Counter
	c.Add(2)
	if got := c.Add(3); got != 5 {
		t.Fatalf("Add = %d", got)
	}
}
