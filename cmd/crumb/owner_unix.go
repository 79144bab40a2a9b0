//go:build unix

package main

import (
	"os"
	"syscall"
)

// sameOwner gives f the owner and group of the file fi describes, so that
// a key file rewritten by root stays readable by the service that owns it.
func sameOwner(f *os.File, fi os.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if err := f.Chown(int(st.Uid), int(st.Gid)); err != nil && os.Geteuid() == 0 {
		return err // only root may give a file away; others keep their own
	}
	return nil
}
