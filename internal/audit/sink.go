package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// sink is the destination the writer goroutine owns; only that goroutine calls write, flush
// and close.
type sink interface {
	write(line []byte) error
	flush() error
	close() error
	rotations() uint64
}

const bufSize = 256 << 10

type streamSink struct {
	w  io.Writer
	bw *bufio.Writer
}

func newStreamSink(w io.Writer) *streamSink {
	return &streamSink{w: w, bw: bufio.NewWriterSize(w, bufSize)}
}

func (s *streamSink) write(line []byte) error {
	_, err := s.bw.Write(line)
	if err != nil {
		// bufio keeps its first error forever; start over so later records can get through.
		s.bw.Reset(s.w)
	}
	return err
}

func (s *streamSink) flush() error {
	err := s.bw.Flush()
	if err != nil {
		s.bw.Reset(s.w)
	}
	return err
}

func (s *streamSink) close() error { return s.flush() }

func (s *streamSink) rotations() uint64 { return 0 }

// fileSink appends to a file and rotates it to <path>.<UTC timestamp> when it would grow past
// max; the chain simply continues in the new file.
type fileSink struct {
	logger  *slog.Logger
	path    string
	max     int64
	f       *os.File
	bw      *bufio.Writer
	size    int64
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
	return &fileSink{logger: logger, path: path, max: max, f: f, bw: bufio.NewWriterSize(f, bufSize), size: st.Size()}, prev, nil
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

func (s *fileSink) write(line []byte) error {
	if s.size > 0 && s.size+int64(len(line)) > s.max {
		if err := s.rotate(); err != nil {
			// Keep appending to the current file rather than lose records; the next write
			// tries again.
			s.logger.Error("audit file rotation failed", "path", s.path, "error", err)
		}
	}
	n, err := s.bw.Write(line)
	s.size += int64(n)
	if err != nil {
		s.reset()
	}
	return err
}

func (s *fileSink) flush() error {
	err := s.bw.Flush()
	if err != nil {
		s.reset()
	}
	return err
}

// reset drops bufio's sticky error so later records can get through once the disk recovers.
func (s *fileSink) reset() {
	s.bw.Reset(s.f)
	if st, err := s.f.Stat(); err == nil {
		s.size = st.Size()
	}
}

func (s *fileSink) rotate() error {
	if err := s.bw.Flush(); err != nil {
		return err
	}
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
	s.bw.Reset(f)
	s.size = 0
	if st, err := f.Stat(); err == nil {
		s.size = st.Size()
	}
	return cause
}

func (s *fileSink) close() error {
	ferr := s.bw.Flush()
	serr := s.f.Sync()
	cerr := s.f.Close()
	return errors.Join(ferr, serr, cerr)
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
