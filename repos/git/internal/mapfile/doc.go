// Package mapfile maps ranges of read-only files (pack indexes,
// commit-graphs) into memory, or reads them where mmap is not available.
package mapfile
