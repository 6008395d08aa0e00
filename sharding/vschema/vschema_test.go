package vschema

import (
	"errors"
	"slices"
	"testing"
)

func TestNewAndLookup(t *testing.T) {
	v, err := New(map[string]Table{
		"Orders": {Kind: Sharded, Column: "USER_ID"},
		"shops":  {Kind: Global},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Table("ORDERS")
	if err != nil || got.Kind != Sharded || got.Column != "user_id" {
		t.Fatalf("Table(ORDERS) = %+v, %v", got, err)
	}
	if _, err := v.Table("nope"); !errors.Is(err, ErrUnknownTable) {
		t.Fatalf("unknown table: got %v, want ErrUnknownTable", err)
	}
	if names := v.Names(Global); !slices.Equal(names, []string{"shops"}) {
		t.Fatalf("Names(Global) = %v", names)
	}
}

func TestNewRefusesMalformed(t *testing.T) {
	for name, tables := range map[string]map[string]Table{
		"sharded without column": {"orders": {Kind: Sharded}},
		"global with column":     {"shops": {Kind: Global, Column: "id"}},
		"unknown kind":           {"x": {Kind: "elsewhere"}},
		"empty name":             {"": {Kind: Global}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := New(tables); !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
}
