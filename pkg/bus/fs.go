package bus

import "io/fs"

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		// The directory is embedded at compile time; failing here is a build mistake.
		panic(err)
	}
	return sub
}
