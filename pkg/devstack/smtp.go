package devstack

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Mail is one message an SMTPCatcher accepted, with the parts a test or a person reads.
type Mail struct {
	From     string
	To       []string
	Data     []byte // the message as received
	Subject  string
	Text     string // the text/plain part, decoded
	HTML     string // the text/html part, decoded
	Header   mail.Header
	Received time.Time
}

// SMTPCatcher is a real SMTP server (go-smtp) on a loopback port that keeps every message
// it accepts: the demo's mailbox and the tests' receiver. It can refuse the next messages
// with a given reply code, to exercise a sender's retries.
type SMTPCatcher struct {
	srv *smtp.Server
	lis net.Listener

	mu       sync.Mutex
	msgs     []Mail
	failN    int
	failCode int
	delay    time.Duration
	notify   chan struct{} // closed and replaced when a message arrives
}

// StartSMTPCatcher listens on addr ("127.0.0.1:0" for a free port) and serves until Close.
func StartSMTPCatcher(addr string) (*SMTPCatcher, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &SMTPCatcher{lis: lis, notify: make(chan struct{})}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &catcherSession{c: c}, nil }))
	s.Domain = "localhost"
	s.MaxMessageBytes = 10 << 20
	s.MaxRecipients = 100
	s.AllowInsecureAuth = true
	s.ReadTimeout = time.Minute
	s.WriteTimeout = time.Minute
	s.ErrorLog = log.New(io.Discard, "", 0)
	c.srv = s
	go func() { _ = s.Serve(lis) }()
	return c, nil
}

// Addr is the host:port the server listens on.
func (c *SMTPCatcher) Addr() string { return c.lis.Addr().String() }

// Close stops the server.
func (c *SMTPCatcher) Close() error { return c.srv.Close() }

// Messages returns the messages accepted so far, oldest first.
func (c *SMTPCatcher) Messages() []Mail {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Mail(nil), c.msgs...)
}

// Changed returns a channel closed at the next accepted message.
func (c *SMTPCatcher) Changed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.notify
}

// FailNext makes the server refuse the next n messages (at DATA) with code (a 4xx code is
// a temporary failure, a 5xx one permanent).
func (c *SMTPCatcher) FailNext(n, code int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failN, c.failCode = n, code
}

// SetDelay makes the server wait d after reading each message before it answers (a slow
// server, to catch a sender in the middle of its work).
func (c *SMTPCatcher) SetDelay(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.delay = d
}

func (c *SMTPCatcher) accept(m Mail) error {
	c.mu.Lock()
	delay := c.delay
	c.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failN > 0 {
		c.failN--
		return &smtp.SMTPError{Code: c.failCode, EnhancedCode: smtp.EnhancedCodeNotSet, Message: "refused for the test"}
	}
	c.msgs = append(c.msgs, m)
	close(c.notify)
	c.notify = make(chan struct{})
	return nil
}

type catcherSession struct {
	c    *SMTPCatcher
	from string
	to   []string
}

func (s *catcherSession) Reset()        { s.from, s.to = "", nil }
func (s *catcherSession) Logout() error { return nil }

func (s *catcherSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *catcherSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *catcherSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := ParseMail(data)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "unreadable message: " + err.Error()}
	}
	m.From, m.To, m.Received = s.from, append([]string(nil), s.to...), time.Now()
	return s.c.accept(m)
}

// ParseMail reads a message: its header, decoded subject, and its text/plain and text/html
// parts (a single-part message, or multipart/alternative or /mixed, nested).
func ParseMail(data []byte) (Mail, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return Mail{}, err
	}
	m := Mail{Data: data, Header: msg.Header}
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		m.Subject = msg.Header.Get("Subject")
	}
	if err := readPart(&m, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0); err != nil {
		return Mail{}, err
	}
	return m, nil
}

func readPart(m *Mail, contentType, encoding string, body io.Reader, depth int) error {
	if depth > 5 {
		return errors.New("multipart nested too deeply")
	}
	if contentType == "" {
		contentType = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("content type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := readPart(m, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1); err != nil {
				return err
			}
		}
	}
	var r io.Reader = body
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64Reader(body)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	switch mediaType {
	case "text/plain":
		if m.Text == "" {
			m.Text = string(b)
		}
	case "text/html":
		if m.HTML == "" {
			m.HTML = string(b)
		}
	}
	return nil
}

// base64Reader decodes a base64 body; the decoder skips the line breaks.
func base64Reader(r io.Reader) io.Reader { return base64.NewDecoder(base64.StdEncoding, r) }
