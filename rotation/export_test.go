package rotation

// SetReadFile replaces how f reads its file, so that tests can watch reads
// and interleave them. It takes f's lock, as Reload does.
func SetReadFile(f *FileSource, read func(string) ([]byte, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.readFile = read
}
