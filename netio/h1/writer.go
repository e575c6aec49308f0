package h1

import (
	"errors"
	"io"
	"net"
	"strconv"
)

// AppendHead appends m's head to dst: the request line ("Method URI
// Version") or status line ("Version Status Reason"), the headers as
// stored (order, case and values untouched), and the empty line. An empty
// Version is written "HTTP/1.1". The framing headers are not checked
// against ContentLength and Chunked: SetContentLength and SetChunked keep
// them in sync.
func AppendHead(dst []byte, m *Message) []byte {
	version := m.Version
	if version == "" {
		version = "HTTP/1.1"
	}
	if m.IsResponse {
		dst = append(dst, version...)
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, int64(m.Status), 10)
		dst = append(dst, ' ')
		dst = append(dst, m.Reason...)
	} else {
		dst = append(dst, m.Method...)
		dst = append(dst, ' ')
		dst = append(dst, m.URI...)
		dst = append(dst, ' ')
		dst = append(dst, version...)
	}
	dst = append(dst, "\r\n"...)
	dst = appendFields(dst, m.Headers)
	return append(dst, "\r\n"...)
}

func appendFields(dst []byte, hs []Header) []byte {
	for _, h := range hs {
		dst = append(dst, h.Name...)
		dst = append(dst, ": "...)
		dst = append(dst, h.Value...)
		dst = append(dst, "\r\n"...)
	}
	return dst
}

// AppendChunk appends data as one chunk of a chunked body. Empty data
// appends nothing: a zero-sized chunk would end the body (see
// AppendLastChunk).
func AppendChunk(dst, data []byte) []byte {
	if len(data) == 0 {
		return dst
	}
	dst = appendChunkSize(dst, len(data))
	dst = append(dst, data...)
	return append(dst, "\r\n"...)
}

func appendChunkSize(dst []byte, n int) []byte {
	dst = strconv.AppendUint(dst, uint64(n), 16)
	return append(dst, "\r\n"...)
}

// AppendLastChunk appends the end of a chunked body: the zero-sized chunk,
// the trailers, the empty line.
func AppendLastChunk(dst []byte, trailers []Header) []byte {
	dst = append(dst, "0\r\n"...)
	dst = appendFields(dst, trailers)
	return append(dst, "\r\n"...)
}

var crlf = []byte("\r\n")

// ErrBodyLength is returned by BodyWriter when the body written does not
// match the message's Content-Length.
var ErrBodyLength = errors.New("h1: body length does not match Content-Length")

// BodyWriter writes a body with the framing its head announces: chunks
// when the message is Chunked, the bytes as they are otherwise, checked
// against ContentLength when there is one.
type BodyWriter struct {
	w       io.Writer
	m       *Message
	chunked bool
	remain  int64 // bytes still due, -1 without Content-Length
	scratch []byte
	closed  bool
}

// NewBodyWriter returns a BodyWriter for m's body on w.
func NewBodyWriter(w io.Writer, m *Message) *BodyWriter {
	bw := new(BodyWriter)
	bw.Reset(w, m)
	return bw
}

// Reset prepares bw for the body of m on w, keeping its scratch buffer.
// The trailers written at Close are m.Trailers at the time of Close.
func (bw *BodyWriter) Reset(w io.Writer, m *Message) {
	*bw = BodyWriter{w: w, m: m, chunked: m.Chunked, remain: -1, scratch: bw.scratch[:0]}
	if !m.Chunked && m.ContentLength >= 0 {
		bw.remain = m.ContentLength
	}
}

// Write writes p as body bytes: one chunk when chunked. It fails with
// ErrBodyLength, writing nothing, when p goes past the Content-Length.
func (bw *BodyWriter) Write(p []byte) (int, error) {
	if bw.closed {
		return 0, errors.New("h1: write after BodyWriter.Close")
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !bw.chunked {
		if bw.remain >= 0 {
			if int64(len(p)) > bw.remain {
				return 0, ErrBodyLength
			}
			bw.remain -= int64(len(p))
		}
		return bw.w.Write(p)
	}
	if len(p) <= 4096 {
		bw.scratch = AppendChunk(bw.scratch[:0], p)
		if _, err := bw.w.Write(bw.scratch); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	// Large chunk: size line, data and CRLF in one writev on a socket.
	bw.scratch = appendChunkSize(bw.scratch[:0], len(p))
	bufs := net.Buffers{bw.scratch, p, crlf}
	if _, err := bufs.WriteTo(bw.w); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close ends the body: the last chunk and the trailers when chunked. For a
// Content-Length body it reports ErrBodyLength if bytes are missing.
func (bw *BodyWriter) Close() error {
	if bw.closed {
		return nil
	}
	bw.closed = true
	if bw.chunked {
		bw.scratch = AppendLastChunk(bw.scratch[:0], bw.m.Trailers)
		_, err := bw.w.Write(bw.scratch)
		return err
	}
	if bw.remain > 0 {
		return ErrBodyLength
	}
	return nil
}
