package shardserver

import "context"

// EnsureTemplate makes (or finds) the template and reports whether this call
// made it.
func EnsureTemplate(ctx context.Context) (dir string, built bool, err error) {
	b, err := lookBinaries()
	if err != nil {
		return "", false, err
	}
	return ensureTemplate(ctx, b)
}
