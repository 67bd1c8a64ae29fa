#include "load_generator.hpp"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <latch>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace milestones {
namespace {

using Clock = std::chrono::steady_clock;

void set_timeouts(httplib::Client& client, std::chrono::milliseconds timeout) {
  const auto seconds = static_cast<time_t>(timeout.count() / 1000);
  const auto micros = static_cast<time_t>((timeout.count() % 1000) * 1000);
  client.set_connection_timeout(seconds, micros);
  client.set_read_timeout(seconds, micros);
  client.set_write_timeout(seconds, micros);
}

httplib::Result send(httplib::Client& client, const LoadRequest& request, std::size_t id) {
  const httplib::Headers headers = {{"X-Request-Id", std::to_string(id)}};
  if (request.method == "GET") return client.Get(request.path.c_str(), headers);
  if (request.method == "POST") {
    return client.Post(request.path.c_str(), headers, request.body, "application/json");
  }
  throw std::invalid_argument("load generator: method '" + request.method +
                              "' is not supported; use GET or POST");
}

// One client: a keep-alive connection that takes the next unsent request until none is left or
// the deadline has passed. A failed connection is reopened by httplib on the next request.
// The connection is opened (GET /healthz) before the clock starts, one client at a time:
// cpp-httplib listens with a backlog of 5, so 8 clients connecting at once can lose a SYN and wait
// a second for its retransmission, which would be measured as a request's latency.
struct Start {
  std::mutex connecting;
  std::latch connected;
  std::latch go{1};
  Clock::time_point deadline;  // written before go opens
  explicit Start(int clients) : connected(clients) {}
};

void client_loop(std::size_t count, const std::function<LoadRequest(std::size_t)>& request_of,
                 const LoadOptions& options, Start& start, std::atomic<std::size_t>& next,
                 std::vector<LoadReply>& replies) {
  httplib::Client client(options.host, options.port);
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);  // no Nagle delay between the headers and the body
  set_timeouts(client, options.request_timeout);
  {
    const std::lock_guard one_at_a_time(start.connecting);
    (void)client.Get("/healthz");  // a failure here shows as the requests' own failures
  }
  start.connected.count_down();
  start.go.wait();
  const Clock::time_point deadline = start.deadline;
  for (;;) {
    if (Clock::now() >= deadline) return;  // the rest stays unsent: counted, never lost
    const std::size_t i = next.fetch_add(1);
    if (i >= count) return;
    const LoadRequest request = request_of(i);
    LoadReply& reply = replies[i];  // only this thread touches slot i
    reply.sent = true;
    const auto sent_at = Clock::now();
    const httplib::Result result = send(client, request, i);
    reply.latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - sent_at).count();
    if (!result) {
      reply.error = httplib::to_string(result.error());
      continue;
    }
    reply.status = result->status;
    reply.body = result->body;
    reply.echoed_id = result->get_header_value("X-Request-Id");
  }
}

}  // namespace

bool LoadReport::all_ok() const {
  return ok == static_cast<std::int64_t>(replies.size()) && mismatched == 0;
}

double LoadReport::throughput() const {
  return wall_seconds > 0 ? static_cast<double>(ok) / wall_seconds : 0.0;
}

std::vector<double> LoadReport::ok_latencies_ms() const {
  std::vector<double> out;
  for (const auto& r : replies) {
    if (r.status == 200) out.push_back(r.latency_ms);
  }
  return out;
}

LoadReport drive(const std::vector<LoadRequest>& requests, const LoadOptions& options) {
  return drive(
      requests.size(), [&](std::size_t i) { return requests[i]; }, options);
}

LoadReport drive(std::size_t count, const std::function<LoadRequest(std::size_t)>& request_of,
                 const LoadOptions& options) {
  if (options.clients < 1) {
    throw std::invalid_argument("load generator: clients is " + std::to_string(options.clients) +
                                "; give 1 or more");
  }
  if (options.port < 1 || options.port > 65535) {
    throw std::invalid_argument("load generator: port " + std::to_string(options.port) +
                                " is out of range (1-65535)");
  }
  LoadReport report;
  report.replies.resize(count);
  std::atomic<std::size_t> next{0};
  Start start(options.clients);
  Clock::time_point started;
  {
    std::vector<std::jthread> clients;
    for (int c = 0; c < options.clients; ++c) {
      clients.emplace_back(
          [&] { client_loop(count, request_of, options, start, next, report.replies); });
    }
    start.connected.wait();
    started = Clock::now();
    start.deadline = started + options.deadline;
    start.go.count_down();
  }  // the jthreads join here: every client has finished its last request
  report.wall_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  for (std::size_t i = 0; i < report.replies.size(); ++i) {
    const LoadReply& r = report.replies[i];
    if (!r.sent) {
      ++report.not_sent;
    } else if (r.status == 0) {
      ++report.failed;
    } else if (r.status == 200) {
      ++report.ok;
    } else if (r.status == 503) {
      ++report.busy;
    } else if (r.status >= 400 && r.status < 500) {
      ++report.refused;
    } else {
      ++report.server_errors;
    }
    if (r.status != 0 && r.echoed_id != std::to_string(i)) ++report.mismatched;
  }
  return report;
}

Probe http_get(const std::string& host, int port, const std::string& path,
               std::chrono::milliseconds timeout) {
  httplib::Client client(host, port);
  set_timeouts(client, timeout);
  Probe probe;
  const httplib::Result result = client.Get(path.c_str());
  if (!result) {
    probe.error = httplib::to_string(result.error());
    return probe;
  }
  probe.status = result->status;
  probe.body = result->body;
  return probe;
}

bool wait_healthy(const std::string& host, int port, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    if (http_get(host, port, "/healthz", std::min(left, std::chrono::milliseconds(2000))).status ==
        200) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

double nearest_rank(std::vector<double> values, double q) {
  if (values.empty()) return 0.0;
  if (std::isnan(q) || q < 0.0 || q > 100.0) {
    throw std::invalid_argument("nearest_rank: q = " + std::to_string(q) + " is outside 0-100");
  }
  // The k-th smallest, k = ceil(q n / 100) clamped to [1, n], found without sorting everything.
  const std::size_t count = values.size();
  const auto k = std::clamp<std::size_t>(
      static_cast<std::size_t>(std::ceil(q * static_cast<double>(count) / 100.0)), 1, count);
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k - 1),
                   values.end());
  return values[k - 1];
}

}  // namespace milestones
