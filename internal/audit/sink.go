package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// sink is the destination the writer goroutine owns; only that goroutine calls it.
type sink interface {
	// write appends whole records: buf holds them back to back and ends[i] is the offset just
	// past record i. It returns how many leading records reached the destination completely
	// and, if not all did, the error; a file keeps no part of the others.
	write(buf []byte, ends []int) (int, error)
	close() error
	rotations() uint64
}

// bufSize is how many bytes of records the writer collects before it writes them.
const bufSize = 256 << 10

// streamSink writes to an io.Writer, which cannot be truncated: a record cut short by a failed
// write stays as a malformed line (the next write starts a new line), and verify reports it.
type streamSink struct {
	w    io.Writer
	torn bool
}

func (s *streamSink) write(buf []byte, ends []int) (int, error) {
	if s.torn {
		if _, err := s.w.Write([]byte{'\n'}); err != nil {
			return 0, err
		}
		s.torn = false
	}
	n, err := s.w.Write(buf)
	if err == nil && n < len(buf) {
		err = io.ErrShortWrite
	}
	if err == nil {
		return len(ends), nil
	}
	k := complete(ends, 0, n)
	if k == 0 && n > 0 || k > 0 && n > ends[k-1] {
		s.torn = true
	}
	return k, err
}

func (s *streamSink) close() error { return nil }

func (s *streamSink) rotations() uint64 { return 0 }

// complete returns how many of the records ending at ends (offsets from base) lie within the
// first n bytes written from base.
func complete(ends []int, base, n int) int {
	k := 0
	for k < len(ends) && ends[k]-base <= n {
		k++
	}
	return k
}

// fileSink appends to a file and rotates it to <path>.<UTC timestamp> when it would grow past
// max; the chain simply continues in the new file.
type fileSink struct {
	logger  *slog.Logger
	path    string
	max     int64
	f       *os.File
	size    int64 // where the last complete record ends
	torn    bool  // bytes past size still need truncating
	rotated atomic.Uint64
}

// openFileSink opens path for appending and returns the hash of its last record when that
// record belongs to instance, so a restart continues the chain. A last line cut short by a
// crash is terminated with a newline so that it stays a separate (invalid) line and verify
// reports it.
func openFileSink(path string, max int64, instance string, logger *slog.Logger) (*fileSink, string, error) {
	prev, partial, err := tail(path, instance)
	if err != nil {
		return nil, "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, "", err
	}
	if partial {
		if _, err := f.Write([]byte{'\n'}); err != nil {
			f.Close()
			return nil, "", err
		}
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, "", err
	}
	return &fileSink{logger: logger, path: path, max: max, f: f, size: st.Size()}, prev, nil
}

// tailWindow bounds how far back from the end tail looks for the last complete line.
const tailWindow = 1 << 20

func tail(path, instance string) (prevHash string, partial bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", false, err
	}
	n := min(st.Size(), tailWindow)
	if n == 0 {
		return "", false, nil
	}
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, st.Size()-n); err != nil && !errors.Is(err, io.EOF) {
		return "", false, err
	}
	partial = buf[len(buf)-1] != '\n'
	if partial {
		i := bytes.LastIndexByte(buf, '\n')
		if i < 0 {
			return "", true, nil
		}
		buf = buf[:i+1]
	}
	buf = buf[:len(buf)-1]
	line := buf
	if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
		line = buf[i+1:]
	} else if n < st.Size() {
		return "", partial, nil // the last line is longer than the window
	}
	var last struct {
		Instance string `json:"instance"`
		Hash     string `json:"hash"`
	}
	if json.Unmarshal(line, &last) != nil || last.Instance != instance || !isHash(last.Hash) {
		return "", partial, nil
	}
	return last.Hash, partial, nil
}

func (s *fileSink) write(buf []byte, ends []int) (int, error) {
	if s.torn {
		// A failed write left part of a record, and truncating it failed too: nothing may follow
		// it until it is gone.
		if err := s.truncate(); err != nil {
			return 0, err
		}
	}
	for i := 0; i < len(ends); {
		base := 0
		if i > 0 {
			base = ends[i-1]
		}
		if s.size > 0 && s.size+int64(ends[i]-base) > s.max {
			if err := s.rotate(); err != nil {
				// Keep appending to the current file rather than lose records; the next record
				// tries again.
				s.logger.Error("audit file rotation failed", "path", s.path, "error", err)
			}
		}
		j := i + 1
		for j < len(ends) && s.size+int64(ends[j]-base) <= s.max {
			j++
		}
		n, err := s.f.Write(buf[base:ends[j-1]])
		if err != nil {
			// Keep the complete records, cut off the rest so no partial record remains.
			k := complete(ends[i:j], base, n)
			good := 0
			if k > 0 {
				good = ends[i+k-1] - base
			}
			if n > good {
				s.size += int64(good)
				s.torn = true
				if terr := s.truncate(); terr != nil {
					err = errors.Join(err, terr)
				}
			} else {
				s.size += int64(n)
			}
			return i + k, err
		}
		s.size += int64(n)
		i = j
	}
	return len(ends), nil
}

// truncate cuts the file back to the end of its last complete record.
func (s *fileSink) truncate() error {
	if err := s.f.Truncate(s.size); err != nil {
		return fmt.Errorf("truncate partial record: %w", err)
	}
	s.torn = false
	return nil
}

func (s *fileSink) rotate() error {
	if err := s.f.Sync(); err != nil {
		return err
	}
	if err := s.f.Close(); err != nil {
		return s.reopen(err)
	}
	stamp := time.Now().UTC().Format("20060102T150405.000000000Z")
	dst := s.path + "." + stamp
	for i := 1; ; i++ {
		if _, err := os.Lstat(dst); errors.Is(err, os.ErrNotExist) {
			break
		}
		dst = s.path + "." + stamp + "-" + strconv.Itoa(i)
	}
	if err := os.Rename(s.path, dst); err != nil {
		return s.reopen(err)
	}
	if err := s.reopen(nil); err != nil {
		return err
	}
	s.rotated.Add(1)
	return nil
}

// reopen opens path again for appending after the old handle was closed, and returns cause
// (or the open error) so a failed rotation still leaves a usable file.
func (s *fileSink) reopen(cause error) error {
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return errors.Join(cause, err)
	}
	s.f = f
	s.size = 0
	if st, err := f.Stat(); err == nil {
		s.size = st.Size()
	}
	return cause
}

func (s *fileSink) close() error {
	serr := s.f.Sync()
	cerr := s.f.Close()
	return errors.Join(serr, cerr)
}

func (s *fileSink) rotations() uint64 { return s.rotated.Load() }

func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
