package bench

// A loopback load test: a real HTTP server, with crumb's middleware on the
// read path and without it, under concurrent clients that each send the
// reference session's cookie.

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
)

// loadServer is a server under load and the request its clients send.
type loadServer struct {
	name   string
	srv    *httptest.Server
	cookie string
	body   string // what every response must say
}

// loadServers starts the trivial handler alone and behind crumb, reading
// one value of the reference session; the tests and benchmarks close
// them.
func loadServers(tb testing.TB) []loadServer {
	tb.Helper()
	m, _ := newManager(tb)
	read := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := cookiesession.FromContext(r.Context())
		name, _, _ := cookiesession.Get[string](s, "username")
		io.WriteString(w, name)
	}))
	trivial := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, ref.Username) })
	servers := []loadServer{
		{name: "bare", srv: httptest.NewServer(trivial), body: ref.Username},
		{name: "crumb-read", srv: httptest.NewServer(read), cookie: crumbCookie(tb, m), body: ref.Username},
	}
	for _, s := range servers {
		tb.Cleanup(s.srv.Close)
	}
	return servers
}

// client returns an HTTP client that keeps enough idle connections for
// every worker.
func client(workers int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxIdleConns: workers}}
}

// get sends one request and checks the response, returning its latency.
func (s *loadServer) get(c *http.Client) (time.Duration, error) {
	req, err := http.NewRequest(http.MethodGet, s.srv.URL, nil)
	if err != nil {
		return 0, err
	}
	if s.cookie != "" {
		req.Header.Set("Cookie", s.cookie)
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	elapsed := time.Since(start)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK || string(body) != s.body || len(resp.Header["Set-Cookie"]) != 0 {
		return 0, &badResponse{resp.StatusCode, string(body)}
	}
	return elapsed, nil
}

type badResponse struct {
	status int
	body   string
}

func (e *badResponse) Error() string {
	return "bad response: " + http.StatusText(e.status) + " " + e.body
}

// percentile returns the p-th percentile of sorted latencies.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

// loadWorkers is how many clients send requests at once.
const loadWorkers = 16

func TestLoad(t *testing.T) {
	t.Parallel()
	requests := 300 // per worker
	if testing.Short() {
		requests = 50
	}
	for _, s := range loadServers(t) {
		c := client(loadWorkers)
		var (
			mu        sync.Mutex
			latencies []time.Duration
			errs      []error
			wg        sync.WaitGroup
		)
		start := time.Now()
		for range loadWorkers {
			wg.Go(func() {
				var mine []time.Duration
				for range requests {
					d, err := s.get(c)
					mu.Lock()
					if err != nil {
						errs = append(errs, err)
					}
					mu.Unlock()
					mine = append(mine, d)
				}
				mu.Lock()
				latencies = append(latencies, mine...)
				mu.Unlock()
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		if len(errs) > 0 {
			t.Errorf("%s: %d of %d requests failed, first: %v", s.name, len(errs), loadWorkers*requests, errs[0])
		}
		slices.Sort(latencies)
		t.Logf("%s: %d requests in %v (%.0f/s), p50 %v, p99 %v", s.name, len(latencies), elapsed.Round(time.Millisecond),
			float64(len(latencies))/elapsed.Seconds(), percentile(latencies, 0.50), percentile(latencies, 0.99))
	}
}

// BenchmarkLoad measures time per request (the inverse of throughput)
// with loadWorkers clients at once, and the p50 and p99 latency.
func BenchmarkLoad(b *testing.B) {
	for _, s := range loadServers(b) {
		b.Run(s.name, func(b *testing.B) {
			c := client(loadWorkers)
			var (
				mu        sync.Mutex
				latencies []time.Duration
			)
			b.SetParallelism(loadWorkers / max(1, runtimeProcs()))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					d, err := s.get(c)
					if err != nil {
						b.Error(err)
						return
					}
					mine = append(mine, d)
				}
				mu.Lock()
				latencies = append(latencies, mine...)
				mu.Unlock()
			})
			slices.Sort(latencies)
			b.ReportMetric(float64(percentile(latencies, 0.50).Microseconds()), "p50-µs")
			b.ReportMetric(float64(percentile(latencies, 0.99).Microseconds()), "p99-µs")
		})
	}
}
