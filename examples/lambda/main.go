// Command lambda keeps crumb sessions in an AWS Lambda function behind an
// API Gateway HTTP API (payload format 2.0) or a Lambda function URL, which
// both deliver the same event shape:
//
//	POST /login   name=ann or {"name":"ann"}: log in, set the session cookie
//	GET  /me      {"user":"ann"}, or 401 when not logged in
//	POST /logout  end the session and delete the cookie
//
// Routes match the event's rawPath, which is the request path under the
// $default stage and for function URLs; under a named stage it starts with
// the stage's name.
//
// A Lambda handler has no http.ResponseWriter, so it uses crumb's
// header-level API: [cookiesession.Manager.Load] reads the event's cookies
// list, and [cookiesession.Manager.Commit] adds the Set-Cookie fields (for
// the response's cookies list) to a header, with the Vary and Cache-Control
// fields that keep a shared cache from storing them.
//
// Build it for the provided.al2023 runtime:
//
//	GOOS=linux GOARCH=arm64 go build -tags lambda.norpc -o bootstrap .
//
// and give the function its keys in the CRUMB_KEYS environment variable
// (from a secret store; "go run ./examples/basic -genkey" at the repository
// root prints a key list). Without CRUMB_KEYS the function makes a throwaway
// key at cold start and logs a warning: each execution environment then has
// its own key, so a session dies when its environment is recycled and is
// rejected by every other concurrent environment. That is for trying the
// function out only.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
)

func main() {
	// Lambda sends stderr to CloudWatch Logs.
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	// Everything is built once, at cold start; an invocation only handles
	// its request.
	keys, err := loadKeys(logger)
	if err != nil {
		fail(logger, err)
	}
	a, err := newApp(keys, logger, time.Now)
	if err != nil {
		fail(logger, err)
	}
	lambda.Start(a.handle)
}

// loadKeys reads CRUMB_KEYS, or makes a throwaway key when it is unset.
func loadKeys(logger *slog.Logger) (rotation.Source, error) {
	keys, err := rotation.FromEnv("CRUMB_KEYS")
	if errors.Is(err, rotation.ErrNoKeys) {
		k, err := crypto.GenerateKey()
		if err != nil {
			return nil, err
		}
		logger.Warn("CRUMB_KEYS is not set: using a throwaway key, so sessions end when this execution environment "+
			"is recycled and other concurrent environments reject them",
			"key_id", k.ID().String(),
			"to_keep_sessions", "set CRUMB_KEYS on the function, from a secret store")
		return rotation.NewKeyring(k)
	}
	if err != nil {
		return nil, err
	}
	logger.Info("keys loaded from CRUMB_KEYS", "primary_key_id", keys.Primary().ID().String(), "keys", len(keys.Entries()))
	return keys, nil
}

func fail(logger *slog.Logger, err error) {
	logger.Error("lambda", "error", err)
	os.Exit(1)
}

// maxBody bounds the login body, before any decoding.
const maxBody = 4 << 10

type app struct {
	sessions *cookiesession.Manager
	logger   *slog.Logger
	csrf     *http.CrossOriginProtection
}

func newApp(keys rotation.Source, logger *slog.Logger, now func() time.Time) (*app, error) {
	sessions, err := cookiesession.New(cookiesession.Config{
		Keys:             keys,
		Lifetime:         30 * time.Minute, // idle timeout
		RenewAfter:       10 * time.Minute, // an active user's cookie is re-sealed at most every 10 minutes
		AbsoluteLifetime: 8 * time.Hour,    // log in again at least this often
		Logger:           logger,
		Clock:            now,
	})
	if err != nil {
		return nil, err
	}
	return &app{sessions: sessions, logger: logger, csrf: http.NewCrossOriginProtection()}, nil
}

// A route handles one request with its session and returns the response,
// before the session's header fields are added.
type route func(s *cookiesession.Session, req *events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse

// handle is the Lambda handler. It never returns an error: a Go error would
// reach the client as a bare 500, and nothing here needs one.
func (a *app) handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	var method string
	var h route
	switch req.RawPath {
	case "/login":
		method, h = http.MethodPost, a.login
	case "/me":
		method, h = http.MethodGet, a.me
	case "/logout":
		method, h = http.MethodPost, a.logout
	default:
		return reply(http.StatusNotFound, map[string]string{"error": "not found"}), nil
	}
	if req.RequestContext.HTTP.Method != method {
		resp := reply(http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
		resp.Headers["Allow"] = method
		return resp, nil
	}
	if err := a.checkOrigin(&req); err != nil {
		return reply(http.StatusForbidden, map[string]string{"error": "cross-origin request refused"}), nil
	}

	s := a.sessions.Load(ctx, requestCookies(&req)...)
	resp := h(s, &req)
	// Commit with the real status (a 5xx response never saves the session)
	// into the response's headers.
	headers := http.Header{}
	for k, v := range resp.Headers {
		headers.Set(k, v)
	}
	if err := a.sessions.Commit(s, resp.StatusCode, headers); err != nil {
		// The session should have been saved and was not (too large, say):
		// the client must not believe that it was. The error holds no
		// cookie value or key.
		a.logger.ErrorContext(ctx, "session not saved", "request_id", req.RequestContext.RequestID, "error", err)
		resp = reply(http.StatusInternalServerError, map[string]string{"error": "session not saved"})
		headers = http.Header{}
		for k, v := range resp.Headers {
			headers.Set(k, v)
		}
	}
	return withHeaders(resp, headers), nil
}

func (a *app) login(s *cookiesession.Session, req *events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	name, status := loginName(req)
	if status != http.StatusOK {
		return reply(status, map[string]string{"error": http.StatusText(status)})
	}
	if name == "" || len(name) > 64 {
		return reply(http.StatusBadRequest, map[string]string{"error": "name must be 1 to 64 characters"})
	}
	// A new session ID at every privilege change defeats session fixation.
	if err := s.CycleKey(); err != nil {
		return reply(http.StatusInternalServerError, map[string]string{"error": "cannot renew session"})
	}
	if err := s.SetSubject(name); err != nil {
		return reply(http.StatusBadRequest, map[string]string{"error": "name must be valid UTF-8"})
	}
	if err := s.Set("user", name); err != nil {
		return reply(http.StatusInternalServerError, map[string]string{"error": "cannot store user"})
	}
	return reply(http.StatusOK, map[string]string{"user": name})
}

func (a *app) me(s *cookiesession.Session, _ *events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	user, ok, err := cookiesession.Get[string](s, "user")
	switch {
	case err != nil:
		return reply(http.StatusInternalServerError, map[string]string{"error": "bad session data"})
	case !ok:
		return reply(http.StatusUnauthorized, map[string]string{"error": "not logged in"})
	}
	return reply(http.StatusOK, map[string]string{"user": user})
}

func (a *app) logout(s *cookiesession.Session, _ *events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	if err := s.Flush(); err != nil {
		return reply(http.StatusInternalServerError, map[string]string{"error": "cannot end session"})
	}
	return reply(http.StatusOK, map[string]bool{"logged_out": true})
}

// loginName reads the name from a form or JSON body, which API Gateway may
// have base64-encoded. The status is 200 when the body could be read.
func loginName(req *events.APIGatewayV2HTTPRequest) (string, int) {
	if len(req.Body) > maxBody*4/3+4 {
		return "", http.StatusRequestEntityTooLarge
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
			return "", http.StatusBadRequest
		}
	}
	if len(body) > maxBody {
		return "", http.StatusRequestEntityTooLarge
	}
	mediaType, _, _ := mime.ParseMediaType(header(req, "content-type"))
	switch mediaType {
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return "", http.StatusBadRequest
		}
		return strings.TrimSpace(form.Get("name")), http.StatusOK
	case "application/json":
		var in struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return "", http.StatusBadRequest
		}
		return strings.TrimSpace(in.Name), http.StatusOK
	}
	return "", http.StatusUnsupportedMediaType
}

// requestCookies returns the request's cookies as Manager.Load takes them.
// API Gateway HTTP APIs (payload 2.0) and function URLs move the Cookie
// header into the event's cookies list of "name=value" strings; a header
// left in place is the fallback.
func requestCookies(req *events.APIGatewayV2HTTPRequest) []string {
	if len(req.Cookies) > 0 {
		return req.Cookies
	}
	if c := header(req, "cookie"); c != "" {
		return []string{c}
	}
	return nil
}

// header returns a request header field. Payload 2.0 lowercases names;
// other sources may not.
func header(req *events.APIGatewayV2HTTPRequest, name string) string {
	if v, ok := req.Headers[name]; ok {
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// checkOrigin applies Go's cross-origin protection (Sec-Fetch-Site and
// Origin) to the event, so that another site cannot log a visitor in or out
// with a form of its own. Requests from non-browser clients, which send
// neither field, pass.
func (a *app) checkOrigin(req *events.APIGatewayV2HTTPRequest) error {
	r := &http.Request{
		Method: req.RequestContext.HTTP.Method,
		Host:   req.RequestContext.DomainName,
		Header: http.Header{},
	}
	for _, name := range []string{"Sec-Fetch-Site", "Origin"} {
		if v := header(req, name); v != "" {
			r.Header.Set(name, v)
		}
	}
	return a.csrf.Check(r)
}

// reply returns a JSON response.
func reply(status int, body any) events.APIGatewayV2HTTPResponse {
	b, err := json.Marshal(body)
	if err != nil {
		panic(err) // only maps of strings and bools are passed
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(b),
	}
}

// withHeaders puts h, where Manager.Commit added its fields, into resp:
// each Set-Cookie value goes in the cookies list, which API Gateway and
// function URLs turn into one Set-Cookie header each, and the other fields
// (Vary, Cache-Control among them) into the headers.
func withHeaders(resp events.APIGatewayV2HTTPResponse, h http.Header) events.APIGatewayV2HTTPResponse {
	resp.Cookies = append(resp.Cookies, h.Values("Set-Cookie")...)
	h.Del("Set-Cookie")
	resp.Headers = make(map[string]string, len(h))
	for k, v := range h {
		resp.Headers[k] = strings.Join(v, ", ")
	}
	return resp
}
