package repos

import (
	"context"
	"errors"
)

// Records keeps what depot knows of each repository beside its git data,
// its Info; repos/projects implements it on the database. Errors other
// than those named here are the store failing.
type Records interface {
	// CreateRepoInfo records the new repository owner/name and sets
	// info.Name and info.CreatedAt. It never replaces a record: when
	// owner/name has one, names compared case-insensitively, it returns an
	// error wrapping ErrExists. A bad description or visibility is a
	// *input.ValidationError.
	CreateRepoInfo(ctx context.Context, owner, name string, info *Info) error
	// DeleteRepoInfo forgets the record of owner/name, names compared
	// case-insensitively; no record is not an error.
	DeleteRepoInfo(ctx context.Context, owner, name string) error
}

// CreateWithRecord makes the repository owner/name, as Create does, and
// records info for it: the one way the API and the CLI create
// repositories, so that a repository is its directory and its record or
// neither. A malformed owner, name or default branch, or a bad info, is a
// *input.ValidationError; a name that another repository holds in any
// case, recorded or on disk, is an error wrapping ErrExists.
//
// The record goes first, so that the store's unique index decides between
// two creators of case variants at once: when it fails, no directory has
// been made, and when the directory then cannot be made, the record is
// removed again.
func (d *Dir) CreateWithRecord(ctx context.Context, recs Records, owner, name string, opt CreateOptions, info *Info) (*Repo, error) {
	if _, _, err := d.prepare(owner, name, opt); err != nil {
		return nil, err
	}
	if err := recs.CreateRepoInfo(ctx, owner, name, info); err != nil {
		return nil, err
	}
	r, err := d.Create(owner, name, opt)
	if err != nil {
		if derr := recs.DeleteRepoInfo(context.WithoutCancel(ctx), owner, name); derr != nil {
			err = errors.Join(err, derr)
		}
		return nil, err
	}
	return r, nil
}

// DeleteWithRecord removes the repository r, opened with Policy.Open or
// Open, and its record: the one way to delete a repository. The record
// goes first, and a record that cannot be deleted leaves the directory
// as it was: should the directory stay after its record went, it is
// served as a private repository placed by hand, whereas a record left
// without its directory would refuse its name to a new repository, and
// give its visibility to one placed there by hand.
func (d *Dir) DeleteWithRecord(ctx context.Context, recs Records, r *Repo) error {
	if err := recs.DeleteRepoInfo(ctx, r.Owner, r.Name); err != nil {
		return err
	}
	return d.remove(r)
}
