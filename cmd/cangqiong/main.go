// Command cangqiong is the product's one binary. Each subcommand lives in its
// own file and registers itself from an init func with register, so adding a
// command touches no other file:
//
//	func init() { register("migrate", "Create or upgrade …", &migrateCmd{}) }
//
//	type migrateCmd struct{ … kong flags … }
//
//	func (c *migrateCmd) Run(e *env) error { … }
//
// A command writes its results to e.stdout and returns an error for failure;
// main prints the error as one line on stderr and exits 1 (2 for a command
// line it cannot parse).
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"
)

// command is a registered subcommand.
type command struct {
	name, help string
	cmd        any // pointer to a kong command struct with Run(*env) error
}

var commands []command

// register adds a subcommand; call it from an init func in the command's
// file.
func register(name, help string, cmd any) {
	commands = append(commands, command{name: name, help: help, cmd: cmd})
}

// globals are the flags every command takes.
type globals struct {
	LogLevel string `name:"log-level" enum:"debug,info,warn,error" default:"error" help:"Lowest level of log lines written to stderr (${enum})."`
}

// env is what a command's Run gets: where to write and what to stop on.
type env struct {
	ctx    context.Context // canceled on SIGINT/SIGTERM
	stdout io.Writer
	stderr io.Writer
	logger *slog.Logger
	getenv func(string) string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run parses args, runs the chosen command and returns the exit code.
// --help prints help and exits 0 from inside the parser.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	var g globals
	opts := []kong.Option{
		kong.Name("cangqiong"),
		kong.Description("Cangqiong: the edge-and-core food-delivery platform."),
		kong.Writers(stdout, stderr),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
	}
	sorted := slices.SortedFunc(slices.Values(commands), func(a, b command) int { return strings.Compare(a.name, b.name) })
	for _, c := range sorted {
		opts = append(opts, kong.DynamicCommand(c.name, c.help, "", c.cmd))
	}
	parser, err := kong.New(&g, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "cangqiong: %s\n", oneLine(err))
		return 2
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "cangqiong: %s (see cangqiong --help)\n", oneLine(err))
		return 2
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(g.LogLevel)) // the enum admits only valid levels
	e := &env{
		ctx:    ctx,
		stdout: stdout,
		stderr: stderr,
		logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
		getenv: getenv,
	}
	if err := kctx.Run(e); err != nil {
		fmt.Fprintf(stderr, "cangqiong: %s: %s\n", kctx.Command(), oneLine(err))
		return 1
	}
	return 0
}

// oneLine joins the lines of a message (errors.Join makes several).
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}
