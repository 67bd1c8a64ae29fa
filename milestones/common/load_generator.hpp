#pragma once
// A bounded load generator for the production milestone: several client threads send a fixed list
// of requests to an HTTP server on loopback and account for every one of them. Framework-owned
// and free of student code, so the figures it reports (answers, refusals, latencies, throughput)
// are measured by the milestone, never by the service under test.
//
// Bounded: each request is sent at most once (no retry that could answer it twice), every wait
// (connect, write, read) is capped by request_timeout, and no request starts after the deadline;
// drive() returns once every request is answered, failed, or left unsent.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace milestones {

struct LoadOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  int clients = 8;                                   // concurrent connections (one thread each)
  std::chrono::milliseconds request_timeout{30000};  // connect, write and read, each
  std::chrono::milliseconds deadline{600000};        // no request starts after this
};

/// One request of a run: sent as `method path` with `body` (JSON) and the header X-Request-Id =
/// its index in the list, which the server echoes.
struct LoadRequest {
  std::string method = "POST";
  std::string path = "/v1/predict";
  std::string body;
};

/// What happened to one request. status 0: no HTTP answer (error says why); sent false: left
/// unsent at the deadline.
struct LoadReply {
  bool sent = false;
  int status = 0;
  std::string error;
  std::string body;
  std::string echoed_id;  // the X-Request-Id header of the answer ("" when absent)
  double latency_ms = 0;  // from the start of the send to the whole answer read
};

/// The accounting of a run: every request is in exactly one of ok, refused (4xx), busy (503),
/// server_errors (other 5xx and unexpected codes), failed (no HTTP answer) and not_sent.
/// mismatched counts answers whose echoed id is not their request's (a reply crossed over to
/// another request, or answered twice).
struct LoadReport {
  std::vector<LoadReply> replies;  // replies[i] answers requests[i]
  std::int64_t ok = 0;
  std::int64_t refused = 0;
  std::int64_t busy = 0;
  std::int64_t server_errors = 0;
  std::int64_t failed = 0;
  std::int64_t not_sent = 0;
  std::int64_t mismatched = 0;
  double wall_seconds = 0;

  /// Every request answered 200 with its own id.
  [[nodiscard]] bool all_ok() const;
  /// ok answers per second of wall time.
  [[nodiscard]] double throughput() const;
  /// The latencies of the ok answers, in ms.
  [[nodiscard]] std::vector<double> ok_latencies_ms() const;
};

/// Sends every request once, from options.clients threads taking the next unsent request in
/// order, and accounts for each. Throws std::invalid_argument for clients < 1 or a port out of
/// range; a server that is down is not an exception, it is every request failed.
[[nodiscard]] LoadReport drive(const std::vector<LoadRequest>& requests,
                               const LoadOptions& options);
/// The same for `count` requests made on demand by request_of(i) on the client threads, so a run
/// of 10,000 image bodies never holds them all in memory.
[[nodiscard]] LoadReport drive(std::size_t count,
                               const std::function<LoadRequest(std::size_t)>& request_of,
                               const LoadOptions& options);

/// GET `path` once with a timeout: the status (0 when no answer) and the body.
struct Probe {
  int status = 0;
  std::string body;
  std::string error;
};
[[nodiscard]] Probe http_get(const std::string& host, int port, const std::string& path,
                             std::chrono::milliseconds timeout);

/// Polls GET /healthz until it answers 200 or `timeout` passes; true when healthy.
[[nodiscard]] bool wait_healthy(const std::string& host, int port,
                                std::chrono::milliseconds timeout);

/// The q-th percentile (q in [0, 100]) by the nearest-rank method, one of the values; 0 when there
/// is none. The milestone's own, so no student code computes a reported figure.
[[nodiscard]] double nearest_rank(std::vector<double> values, double q);

}  // namespace milestones
