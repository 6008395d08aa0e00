package main

import (
	"fmt"
	"runtime/debug"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
var version = "dev"

func init() {
	register("version", "Print the version, VCS revision and Go version of this binary.", &versionCmd{})
}

type versionCmd struct{}

func (c *versionCmd) Run(e *env) error {
	_, err := fmt.Fprintln(e.stdout, versionLine(debug.ReadBuildInfo()))
	return err
}

// versionLine reads like "cangqiong v1.2.3 (revision 0123abcd, modified,
// go1.26.8)". The revision is "unknown" when the build did not stamp VCS
// information (-buildvcs=false or no repository).
func versionLine(info *debug.BuildInfo, ok bool) string {
	revision, modified, goVersion := "unknown", false, "unknown"
	if ok {
		goVersion = info.GoVersion
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if modified {
		revision += ", modified"
	}
	return fmt.Sprintf("cangqiong %s (revision %s, %s)", version, revision, goVersion)
}
