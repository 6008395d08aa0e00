package gossip

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestMetaRoundTrip(t *testing.T) {
	for _, m := range []meta{
		{},
		{epoch: 1, region: "eu-west", tunnelAddr: "10.0.0.1:8443", adminAddr: "10.0.0.1:9000"},
		{epoch: math.MaxUint64, leaving: true, region: strings.Repeat("r", maxMetaField)},
	} {
		got, err := decodeMeta(m.encode())
		if err != nil || got != m {
			t.Errorf("decodeMeta(encode(%+v)) = %+v, %v", m, got, err)
		}
	}
}

func TestDecodeMetaRejects(t *testing.T) {
	good := meta{epoch: 300, region: "ap", tunnelAddr: "h:1", adminAddr: "h:2"}.encode()
	for name, b := range map[string][]byte{
		"empty":          nil,
		"version":        append([]byte{2}, good[1:]...),
		"unknown flag":   append([]byte{metaVersion, 0x80}, good[2:]...),
		"no epoch":       good[:2],
		"cut epoch":      good[:3],
		"cut field":      good[:len(good)-1],
		"trailing":       append(append([]byte(nil), good...), 0),
		"huge length":    {metaVersion, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"varint too big": {metaVersion, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	} {
		t.Run(name, func(t *testing.T) {
			if m, err := decodeMeta(b); !errors.Is(err, errBadMeta) {
				t.Errorf("decodeMeta = %+v, %v; want errBadMeta", m, err)
			}
		})
	}
}

func TestMetaCheck(t *testing.T) {
	long := strings.Repeat("x", maxMetaField)
	for _, tc := range []struct {
		name string
		m    meta
		ok   bool
	}{
		{"empty", meta{}, true},
		{"typical", meta{region: "eu-west-1", tunnelAddr: "10.1.2.3:8443", adminAddr: "10.1.2.3:9000"}, true},
		{"long fields", meta{region: long[:160], tunnelAddr: long[:160], adminAddr: long[:160]}, true},
		{"field too long", meta{region: long + "x"}, false},
		{"too long together", meta{region: long, tunnelAddr: long, adminAddr: long[:10]}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.m.check(); (err == nil) != tc.ok {
				t.Errorf("check() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
