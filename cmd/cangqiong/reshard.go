package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cangqiong/cangqiong/replication/reshard"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
	"github.com/mattn/go-isatty"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

func init() {
	register("reshard", "Add or remove a shard online through a core node's admin API, and follow the workflow that moves the users.", &reshardCmd{})
}

// Pacing of a follow: how often it polls, how often a plain display may
// repeat itself within one phase, and how long the admin API may stay
// unreachable before it gives up (the workflow goes on without it).
const (
	reshardPoll      = 500 * time.Millisecond
	reshardLineEvery = 2 * time.Second
	reshardLostAfter = 30 * time.Second
	reshardTimeout   = 10 * time.Second // one admin API request
	// abortTimeout bounds waiting for an abort, which deletes the copies
	// before it answers (the core goes on if the command stops waiting).
	abortTimeout = 30 * time.Minute
)

type reshardCmd struct {
	Add    reshardAddCmd    `cmd:"" help:"Add a shard: it joins the map, receives its share of the users and then serves them."`
	Remove reshardRemoveCmd `cmd:"" help:"Remove a shard: its users move to the other shards, then it leaves the map."`
	Status reshardStatusCmd `cmd:"" help:"Show a workflow: the one named, else the running one, else the most recent."`
	Abort  reshardAbortCmd  `cmd:"" help:"Roll back a workflow that failed before its cutover: delete its copies and restore the map it started from."`
}

// adminFlags name the admin API; the defaults reach core-0 of
// `cangqiong up` started from the same directory.
type adminFlags struct {
	Admin     string `default:"http://127.0.0.1:4410" env:"CANGQIONG_ADMIN" placeholder:"URL" help:"Base URL of a core node's admin API (default ${default}: core-0 of cangqiong up)."`
	TokenFile string `name:"token-file" default:".local/up/pki/admin.token" env:"CANGQIONG_ADMIN_TOKEN_FILE" placeholder:"FILE" help:"File holding the admin bearer token (default ${default}: cangqiong up's, run from the same directory)."`
}

type reshardAddCmd struct {
	adminFlags `embed:""`
	Shard      string `required:"" placeholder:"ID" help:"Id of the new shard: lower-case letters, digits and '-'."`
	Address    string `required:"" placeholder:"HOST:PORT" help:"MySQL-protocol address of the new shard."`
	Database   string `placeholder:"DB" help:"Database on it (default: the deployment's default database)."`
	Weight     int    `default:"1" placeholder:"N" help:"Relative capacity (default ${default}): a shard of weight 2 owns about twice the users of one of weight 1."`
	Detach     bool   `help:"Print the started workflow and return instead of following it."`
}

func (c *reshardAddCmd) Run(e *env) error {
	if c.Weight < 1 {
		return fmt.Errorf("--weight %d: want 1 or more", c.Weight)
	}
	return startReshard(e, c.adminFlags, c.Detach, reshard.Request{Kind: reshard.Add, Shard: shardmap.Shard{
		ID: c.Shard, Address: c.Address, Database: c.Database, Weight: c.Weight,
	}})
}

type reshardRemoveCmd struct {
	adminFlags `embed:""`
	Shard      string `required:"" placeholder:"ID" help:"Id of the shard to remove."`
	Detach     bool   `help:"Print the started workflow and return instead of following it."`
}

func (c *reshardRemoveCmd) Run(e *env) error {
	return startReshard(e, c.adminFlags, c.Detach, reshard.Request{Kind: reshard.Remove, Shard: shardmap.Shard{ID: c.Shard}})
}

type reshardStatusCmd struct {
	adminFlags `embed:""`
	ID         uint64 `arg:"" optional:"" placeholder:"ID" help:"Workflow id (default: the running one, else the most recent)."`
	Watch      bool   `help:"Follow the workflow until it is done or failed; exit 1 if it failed."`
	JSON       bool   `name:"json" help:"Print the status as JSON, once."`
}

func (c *reshardStatusCmd) Run(e *env) error {
	if c.Watch && c.JSON {
		return errors.New("--watch and --json do not go together")
	}
	client, err := c.client()
	if err != nil {
		return err
	}
	st, err := client.status(e.ctx, c.ID)
	if err != nil {
		return err
	}
	switch {
	case c.JSON:
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	case c.Watch:
		return follow(e, client, st)
	}
	describeStatus(e.stdout, st)
	return nil
}

type reshardAbortCmd struct {
	adminFlags `embed:""`
	ID         uint64 `arg:"" optional:"" placeholder:"ID" help:"Workflow id (default: the most recent)."`
}

func (c *reshardAbortCmd) Run(e *env) error {
	client, err := c.client()
	if err != nil {
		return err
	}
	id := c.ID
	if id == 0 {
		st, err := client.status(e.ctx, 0)
		if err != nil {
			return err
		}
		id = st.ID
	}
	fmt.Fprintf(e.stdout, "reshard %d: rolling back (deleting its copies; this may take a while)\n", id)
	st, err := client.abort(e.ctx, id)
	if err != nil {
		return refusedAs("reshard abort", err)
	}
	fmt.Fprintln(e.stdout, finalLine(st))
	return nil
}

// refusedAs words an admin API refusal (a 4xx other than 401) as what
// refused it; other errors pass as they are.
func refusedAs(what string, err error) error {
	var refused *apiError
	if errors.As(err, &refused) && refused.status < 500 && refused.status != http.StatusUnauthorized {
		return fmt.Errorf("%s refused (%s): %s", what, refused.code, refused.message)
	}
	return err
}

// startReshard asks for the workflow, then follows it unless detach.
func startReshard(e *env, flags adminFlags, detach bool, req reshard.Request) error {
	client, err := flags.client()
	if err != nil {
		return err
	}
	st, err := client.start(e.ctx, req)
	if err != nil {
		return refusedAs("reshard", err)
	}
	fmt.Fprintf(e.stdout, "reshard %d started: %s %s from shard map epoch %d\n", st.ID, st.Kind, st.Shard, st.FromEpoch)
	if detach {
		fmt.Fprintf(e.stdout, "follow it with: cangqiong reshard status --watch %d\n", st.ID)
		return nil
	}
	return follow(e, client, st)
}

// follow polls the workflow until it is final, showing its progress. A
// Failed ending is an error; so is an interrupt or losing the API, and
// those say the workflow goes on without us.
func follow(e *env, client *adminClient, st reshard.Status) error {
	if st.Phase.Final() {
		fmt.Fprintln(e.stdout, finalLine(st))
		return failure(st)
	}
	d := newDisplay(e.stdout)
	tick := time.NewTicker(reshardPoll)
	defer tick.Stop()
	var failingSince time.Time
	for !st.Phase.Final() {
		d.show(st)
		select {
		case <-e.ctx.Done():
			d.stop()
			return fmt.Errorf("interrupted; reshard %d goes on (cangqiong reshard status --watch %d)", st.ID, st.ID)
		case <-tick.C:
		}
		next, err := client.status(e.ctx, st.ID)
		switch {
		case err == nil:
			st, failingSince = next, time.Time{}
		case e.ctx.Err() != nil:
			// the interrupt is reported above
		case !transient(err):
			d.stop()
			return err
		case failingSince.IsZero():
			failingSince = time.Now()
			d.note(fmt.Sprintf("reshard %d: %v; retrying", st.ID, err))
		case time.Since(failingSince) > reshardLostAfter:
			d.stop()
			return fmt.Errorf("%w; reshard %d goes on (cangqiong reshard status --watch %d)", err, st.ID, st.ID)
		}
	}
	d.finish(st)
	return failure(st)
}

// failure is the error of a workflow that ended Failed or Aborted.
func failure(st reshard.Status) error {
	switch st.Phase {
	case reshard.Failed:
		return fmt.Errorf("reshard %d failed: %s", st.ID, cmp.Or(st.Error, "no reason given"))
	case reshard.Aborted:
		return fmt.Errorf("reshard %d was rolled back after it failed: %s", st.ID, cmp.Or(st.Error, "no reason given"))
	}
	return nil
}

// describeStatus prints a workflow for a person: its line, then its pairs.
func describeStatus(w io.Writer, st reshard.Status) {
	if st.Phase.Final() {
		fmt.Fprintln(w, finalLine(st))
	} else {
		fmt.Fprintln(w, progressLine(st))
	}
	fmt.Fprintf(w, "  %s %s, owner %s, shard map epoch %d", st.Kind, st.Shard, cmp.Or(st.Owner, "none"), st.FromEpoch)
	if st.ToEpoch != 0 {
		fmt.Fprintf(w, "→%d", st.ToEpoch)
	}
	fmt.Fprintf(w, ", %.1f%% of the keyspace moves, started %s\n", st.Fraction*100, st.StartedAt.Local().Format(time.DateTime))
	for _, p := range st.Pairs {
		fmt.Fprintf(w, "  %s → %s  %.1f%%  scanned=%d/%d users=%d rows=%d lag=%d", p.From, p.To, p.Fraction*100,
			p.Scanned, p.SourceRows, p.Users, p.Rows, p.Lag)
		if p.Copied {
			fmt.Fprint(w, " copied")
		}
		fmt.Fprintf(w, " mismatches=%d deleted=%d\n", p.Mismatches, p.Deleted)
	}
}

// progressLine is a running workflow in one line.
func progressLine(st reshard.Status) string {
	var b strings.Builder
	fmt.Fprintf(&b, "reshard %d %s %d%% users=%d rows=%d lag=%d", st.ID, st.Phase, percent(st.Progress), st.Users, st.Rows, st.Lag)
	if st.ETA > 0 {
		fmt.Fprintf(&b, " eta=%s", roundDuration(st.ETA))
	}
	if st.Error != "" {
		fmt.Fprintf(&b, " (retrying after: %s)", st.Error)
	}
	return b.String()
}

// finalLine is a finished workflow in one line.
func finalLine(st reshard.Status) string {
	switch st.Phase {
	case reshard.Failed:
		return fmt.Sprintf("reshard %d failed: %s %s: %s", st.ID, st.Kind, st.Shard, cmp.Or(st.Error, "no reason given"))
	case reshard.Aborted:
		line := fmt.Sprintf("reshard %d aborted: %s %s rolled back", st.ID, st.Kind, st.Shard)
		if st.ToEpoch != 0 {
			line += fmt.Sprintf(", shard map epoch %d", st.ToEpoch)
		}
		return line + fmt.Sprintf(" (it had failed: %s)", cmp.Or(st.Error, "no reason given"))
	}
	done := map[reshard.Kind]string{reshard.Add: "added", reshard.Remove: "removed"}[st.Kind]
	mismatches := 0
	for _, p := range st.Pairs {
		mismatches += p.Mismatches
	}
	line := fmt.Sprintf("reshard %d done: %s %s, shard map epoch %d→%d, users=%d rows=%d hold=%s mismatches=%d",
		st.ID, cmp.Or(done, string(st.Kind)), st.Shard, st.FromEpoch, st.ToEpoch, st.Users, st.Rows, roundDuration(st.Hold), mismatches)
	if st.FinishedAt != nil {
		line += " in " + roundDuration(st.FinishedAt.Sub(st.StartedAt)).String()
	}
	return line
}

// percent is p in whole percent, rounded down: 100% only once complete.
func percent(p float64) int {
	if math.IsNaN(p) {
		return 0
	}
	return int(math.Floor(min(max(p, 0), 1) * 100))
}

// roundDuration keeps two or three significant digits.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Microsecond)
}

// adminClient talks to one core node's admin API.
type adminClient struct {
	base  string // scheme://host[:port][/prefix], no trailing slash
	token string
	hc    *http.Client
}

func (f adminFlags) client() (*adminClient, error) {
	base := strings.TrimRight(f.Admin, "/")
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("--admin %q: want a URL like http://127.0.0.1:4410", f.Admin)
	}
	raw, err := os.ReadFile(f.TokenFile)
	if err != nil {
		return nil, fmt.Errorf("admin token: %w (start cangqiong up here, or pass --token-file)", err)
	}
	token := strings.TrimSpace(string(raw))
	if token == "" {
		return nil, fmt.Errorf("admin token: %s is empty", f.TokenFile)
	}
	return &adminClient{base: base, token: token, hc: &http.Client{Timeout: reshardTimeout}}, nil
}

// apiError is an answer of the admin API other than the one asked for.
type apiError struct {
	status        int
	code, message string
}

func (e *apiError) Error() string {
	if e.status == http.StatusUnauthorized {
		return fmt.Sprintf("the admin API refused the token (%s): %s", e.code, e.message)
	}
	return fmt.Sprintf("the admin API answered %d (%s): %s", e.status, e.code, e.message)
}

// transient reports whether asking again may help: the node is
// unreachable or failed, rather than refused the request.
func transient(err error) bool {
	var ae *apiError
	return !errors.As(err, &ae) || ae.status >= 500
}

func (c *adminClient) start(ctx context.Context, req reshard.Request) (reshard.Status, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return reshard.Status{}, err
	}
	return c.do(ctx, http.MethodPost, "/admin/v1/reshards", body, http.StatusAccepted)
}

// status is workflow id's status, or the current workflow's for id 0.
func (c *adminClient) status(ctx context.Context, id uint64) (reshard.Status, error) {
	path := "/admin/v1/reshards/current"
	if id != 0 {
		path = "/admin/v1/reshards/" + strconv.FormatUint(id, 10)
	}
	return c.do(ctx, http.MethodGet, path, nil, http.StatusOK)
}

// abort rolls workflow id back.
func (c *adminClient) abort(ctx context.Context, id uint64) (reshard.Status, error) {
	long := *c
	long.hc = &http.Client{Timeout: abortTimeout, Transport: c.hc.Transport}
	return long.do(ctx, http.MethodPost, "/admin/v1/reshards/"+strconv.FormatUint(id, 10)+"/abort", nil, http.StatusOK)
}

func (c *adminClient) do(ctx context.Context, method, path string, body []byte, want int) (reshard.Status, error) {
	var st reshard.Status
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return st, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return st, fmt.Errorf("cannot reach the admin API at %s (is the core node up? --admin names it): %w", c.base, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return st, fmt.Errorf("reading the admin API's answer: %w", err)
	}
	if resp.StatusCode != want {
		return st, answerError(resp, data)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return st, fmt.Errorf("the admin API's answer is not a reshard status: %w", err)
	}
	return st, nil
}

// answerError reads the API's JSON error; an answer without one (a proxy,
// or not the admin API at all) is described by its status and start.
func answerError(resp *http.Response, data []byte) error {
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if json.Unmarshal(data, &e) == nil && e.Error.Code != "" {
		return &apiError{status: resp.StatusCode, code: e.Error.Code, message: e.Error.Message}
	}
	text := strings.Join(strings.Fields(string(data)), " ")
	if len(text) > 100 {
		text = text[:100] + "…"
	}
	return &apiError{status: resp.StatusCode, code: strings.ReplaceAll(strings.ToLower(http.StatusText(resp.StatusCode)), " ", "_"),
		message: cmp.Or(text, "no body") + " (is --admin a core node's admin API?)"}
}

// display shows a followed workflow: a progress bar on a terminal, plain
// lines elsewhere (logs, pipes, tests).
type display interface {
	show(st reshard.Status)   // a poll's answer, while the workflow runs
	note(msg string)          // something worth a line of its own
	finish(st reshard.Status) // the final status: its line
	stop()                    // following ends before the workflow does
}

func newDisplay(w io.Writer) display {
	if f, ok := w.(*os.File); ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
		return newBarDisplay(w)
	}
	return &lineDisplay{w: w, now: time.Now, every: reshardLineEvery}
}

// lineDisplay prints a line per phase, and within a phase a changed line
// at most every so often.
type lineDisplay struct {
	w     io.Writer
	now   func() time.Time
	every time.Duration

	phase  reshard.Phase
	last   string
	lastAt time.Time
}

func (d *lineDisplay) show(st reshard.Status) {
	line := progressLine(st)
	if st.Phase == d.phase && (line == d.last || d.now().Sub(d.lastAt) < d.every) {
		return
	}
	d.phase, d.last, d.lastAt = st.Phase, line, d.now()
	fmt.Fprintln(d.w, line)
}

func (d *lineDisplay) note(msg string)          { fmt.Fprintln(d.w, msg) }
func (d *lineDisplay) finish(st reshard.Status) { fmt.Fprintln(d.w, finalLine(st)) }
func (d *lineDisplay) stop()                    {}

// barScale is the bar's total: Progress in whole percent, as the plain
// lines show it.
const barScale = 100

// barDisplay draws one mpb bar of the copy's progress, labelled with the
// phase and followed by the counts (the kind and shard are on the line
// above: a bar line that outgrows the terminal wraps and garbles). The bar completes only when the
// workflow is done (a full bar in catching_up is not the end), and aborts
// when it fails.
type barDisplay struct {
	w   io.Writer
	p   *mpb.Progress
	bar *mpb.Bar

	mu      sync.Mutex
	st      reshard.Status
	lastErr string // the retried error last noted
}

func newBarDisplay(w io.Writer, opts ...mpb.ContainerOption) *barDisplay {
	d := &barDisplay{w: w}
	d.p = mpb.New(append([]mpb.ContainerOption{mpb.WithOutput(w), mpb.WithWidth(40)}, opts...)...)
	// Total 0 until set: a bar made with a total would complete when the
	// copy does.
	d.bar = d.p.AddBar(0,
		mpb.PrependDecorators(decor.Any(d.label, decor.WCSyncSpaceR)),
		mpb.AppendDecorators(decor.Any(d.counts, decor.WCSyncSpace)),
	)
	d.bar.SetTotal(barScale, false)
	return d
}

func (d *barDisplay) status() reshard.Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.st
}

func (d *barDisplay) label(decor.Statistics) string {
	st := d.status()
	return fmt.Sprintf("reshard %d %-11s", st.ID, st.Phase)
}

func (d *barDisplay) counts(decor.Statistics) string {
	st := d.status()
	s := fmt.Sprintf("%3d%% users=%d rows=%d lag=%d", percent(st.Progress), st.Users, st.Rows, st.Lag)
	if st.ETA > 0 {
		s += " eta=" + roundDuration(st.ETA).String()
	}
	return s
}

func (d *barDisplay) show(st reshard.Status) {
	d.mu.Lock()
	d.st = st
	newErr := st.Error != d.lastErr
	d.lastErr = st.Error
	d.mu.Unlock()
	d.bar.SetCurrent(int64(percent(st.Progress)))
	if newErr && st.Error != "" {
		d.note(fmt.Sprintf("reshard %d retrying after: %s", st.ID, st.Error))
	}
}

// note prints msg above the bar.
func (d *barDisplay) note(msg string) { fmt.Fprintln(d.p, msg) }

func (d *barDisplay) finish(st reshard.Status) {
	d.mu.Lock()
	d.st = st
	d.mu.Unlock()
	if st.Phase == reshard.Done {
		d.bar.SetTotal(barScale, true)
	} else {
		d.bar.Abort(false)
	}
	d.p.Wait()
	fmt.Fprintln(d.w, finalLine(st))
}

func (d *barDisplay) stop() {
	d.bar.Abort(false)
	d.p.Wait()
}
