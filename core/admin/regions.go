package admin

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/cangqiong/cangqiong/core/httpapi"
	"github.com/cangqiong/cangqiong/sharding/control"
)

// regionsResponse is GET /admin/v1/regions.
type regionsResponse struct {
	Regions []control.Region `json:"regions"`
}

// regionBody is what PUT /admin/v1/regions/{name} accepts. The version is
// not in it: it travels in If-Match. A weight left out is 0, so a region
// created without one takes no traffic until it is ramped up.
type regionBody struct {
	Name      string              `json:"name"` // optional; if given, must equal the path's
	Location  string              `json:"location"`
	Latitude  float64             `json:"latitude"`
	Longitude float64             `json:"longitude"`
	Weight    int                 `json:"weight"`
	Edges     []string            `json:"edges"`
	State     control.RegionState `json:"state"`
}

func (a *Admin) listRegions(w http.ResponseWriter, r *http.Request) error {
	regions, err := a.regions.List(r.Context())
	if err != nil {
		return err
	}
	if regions == nil {
		regions = []control.Region{}
	}
	httpapi.WriteJSON(w, http.StatusOK, regionsResponse{Regions: regions})
	return nil
}

func (a *Admin) getRegion(w http.ResponseWriter, r *http.Request) error {
	region, err := a.regions.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		return regionError(w, err, r.PathValue("name"))
	}
	setETag(w, region.Version)
	httpapi.WriteJSON(w, http.StatusOK, region)
	return nil
}

// putRegion creates the region (no If-Match) or replaces the version named
// in If-Match.
func (a *Admin) putRegion(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	expect, err := ifMatch(r)
	switch {
	case errors.Is(err, errNoIfMatch):
		expect = 0
	case err != nil:
		return err
	case expect == 0:
		return httpapi.Errorf(http.StatusBadRequest, CodeInvalidPrecondition, "region versions start at 1; omit If-Match to create")
	}
	var body regionBody
	if err := httpapi.Decode(w, r, a.maxBody, &body); err != nil {
		return err
	}
	if body.Name != "" && body.Name != name {
		return httpapi.Errorf(http.StatusUnprocessableEntity, CodeInvalidRegion,
			"the body names region %q, the path %q", body.Name, name)
	}
	stored, err := a.regions.Put(r.Context(), control.Region{
		Name: name, Location: body.Location, Latitude: body.Latitude, Longitude: body.Longitude,
		Weight: body.Weight, Edges: body.Edges, State: body.State,
	}, expect)
	if err != nil {
		return regionError(w, err, name)
	}
	a.log.InfoContext(r.Context(), "region stored", "region", name, "version", stored.Version,
		"weight", stored.Weight, "state", stored.State, "remote", r.RemoteAddr)
	setETag(w, stored.Version)
	status := http.StatusOK
	if expect == 0 {
		status = http.StatusCreated
		w.Header().Set("Location", "/admin/v1/regions/"+url.PathEscape(name))
	}
	httpapi.WriteJSON(w, status, stored)
	return nil
}

func (a *Admin) deleteRegion(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	expect, err := requireIfMatch(r, "region")
	if err != nil {
		return err
	}
	if err := a.regions.Delete(r.Context(), name, expect); err != nil {
		return regionError(w, err, name)
	}
	a.log.InfoContext(r.Context(), "region deleted", "region", name, "version", expect, "remote", r.RemoteAddr)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// regionError classifies the registry's refusals; anything else is a 500.
func regionError(w http.ResponseWriter, err error, name string) error {
	var conflict *control.RegionConflictError
	var invalid *control.InvalidRegionError
	switch {
	case errors.As(err, &conflict) && conflict.Expected == 0:
		setETag(w, conflict.Current)
		return httpapi.Errorf(http.StatusPreconditionFailed, CodeRegionConflict,
			`region %q already exists at version %d; send If-Match: "%d" to replace it`, name, conflict.Current, conflict.Current)
	case errors.As(err, &conflict):
		setETag(w, conflict.Current)
		return httpapi.Errorf(http.StatusPreconditionFailed, CodeRegionConflict,
			"region %q is at version %d, not %d: GET it and decide again", name, conflict.Current, conflict.Expected)
	case errors.Is(err, control.ErrRegionNotFound):
		return httpapi.Errorf(http.StatusNotFound, CodeRegionNotFound, "no region %q", name)
	case errors.As(err, &invalid):
		return httpapi.Errorf(http.StatusUnprocessableEntity, CodeInvalidRegion, "%s", invalid.Error())
	}
	return err
}
