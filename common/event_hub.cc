#include "common/event_hub.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/live_events.h"
#include "common/log.h"
#include "common/redis_cluster.h"

namespace livecall {
namespace {

// "<ms>-<seq>" as a comparable pair; {0,0} for anything else.
std::pair<uint64_t, uint64_t> ParseStreamId(absl::string_view id) {
  size_t dash = id.find('-');
  uint64_t ms = 0;
  uint64_t seq = 0;
  if (dash == absl::string_view::npos || !absl::SimpleAtoi(id.substr(0, dash), &ms) ||
      !absl::SimpleAtoi(id.substr(dash + 1), &seq)) {
    return {0, 0};
  }
  return {ms, seq};
}

bool IdAfter(absl::string_view a, absl::string_view b) {
  return ParseStreamId(a) > ParseStreamId(b);
}

// [[id, [field, value, ...]], ...] -> entries.
std::vector<StreamEntry> ParseEntries(const redisReply& list) {
  std::vector<StreamEntry> entries;
  for (size_t i = 0; i < list.elements; ++i) {
    const redisReply& item = *list.element[i];
    if (item.type != REDIS_REPLY_ARRAY || item.elements != 2) continue;
    StreamEntry entry;
    entry.id = ReplyString(*item.element[0]);
    const redisReply& fields = *item.element[1];
    for (size_t f = 0; f + 1 < fields.elements; f += 2) {
      const std::string name = ReplyString(*fields.element[f]);
      if (name == "type") entry.type = ReplyString(*fields.element[f + 1]);
      if (name == "data") entry.data = ReplyString(*fields.element[f + 1]);
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

RedisPool::Options PoolOptions(const EventHub::Options& options) {
  RedisPool::Options pool;
  pool.url = options.redis;
  pool.max_connections = 1;  // The reader thread's XREADs; the notifications have their own.
  pool.command_timeout = absl::Seconds(2);
  return pool;
}

// While there is no notification connection, every stream is read this often.
constexpr absl::Duration kUnsubscribedSweep = absl::Milliseconds(100);

}  // namespace

bool IsStreamId(absl::string_view id) {
  size_t dash = id.find('-');
  uint64_t part = 0;
  return dash != absl::string_view::npos && dash > 0 &&
         absl::SimpleAtoi(id.substr(0, dash), &part) &&
         absl::SimpleAtoi(id.substr(dash + 1), &part);
}

EventHub::EventHub(Options options)
    : options_(std::move(options)),
      redis_(PoolOptions(options_)),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

EventHub::~EventHub() {
  Stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void EventHub::Start() {
  thread_ = std::thread([this] { Run(); });
}

void EventHub::Stop() {
  if (stopping_.exchange(true)) return;
  Wake();
  if (thread_.joinable()) thread_.join();
}

uint64_t EventHub::Subscribe(const std::string& stream, const std::string& after_id,
                             Callback callback) {
  uint64_t handle;
  {
    absl::MutexLock lock(&mu_);
    handle = next_handle_++;
    subscribers_[handle] = Subscriber{stream, after_id, std::move(callback), false, absl::Now()};
    joining_.push_back(handle);
  }
  Wake();
  return handle;
}

void EventHub::Unsubscribe(uint64_t handle) {
  {
    absl::MutexLock lock(&mu_);
    auto it = subscribers_.find(handle);
    if (it != subscribers_.end()) {
      auto watched = streams_.find(it->second.stream);
      if (watched != streams_.end()) {
        std::vector<uint64_t>& handles = watched->second.handles;
        handles.erase(std::remove(handles.begin(), handles.end(), handle), handles.end());
        if (handles.empty()) streams_.erase(watched);
      }
      subscribers_.erase(it);
    }
  }
  // Wait for a callback that may be running right now.
  absl::MutexLock barrier(&delivery_mu_);
}

size_t EventHub::subscriber_count() const {
  absl::MutexLock lock(&mu_);
  return subscribers_.size();
}

void EventHub::Wake() {
  const uint64_t one = 1;
  // EAGAIN only when the counter is full, i.e. a wake-up is pending anyway.
  (void)!write(wake_fd_, &one, sizeof(one));
}

bool EventHub::WantsNotifications(absl::Time now) {
  bool watching;
  {
    absl::MutexLock lock(&mu_);
    watching = !streams_.empty();
  }
  if (watching) {
    unwatched_since_ = absl::InfiniteFuture();
    return true;
  }
  if (unwatched_since_ == absl::InfiniteFuture()) unwatched_since_ = now;
  return now - unwatched_since_ < options_.idle_unsubscribe;
}

bool EventHub::Listen() {
  absl::StatusOr<RedisPool::Connection> connection = redis_.OpenDedicatedConnection();
  if (!connection.ok()) return false;
  RedisReply reply(static_cast<redisReply*>(
      redisCommand(connection->get(), "SUBSCRIBE %s", kLiveEventsChannel)));
  if (reply == nullptr || reply->type == REDIS_REPLY_ERROR) return false;
  listener_ = *std::move(connection);
  return true;
}

void EventHub::WaitForNews(absl::Duration timeout) {
  pollfd fds[2] = {
      {.fd = wake_fd_, .events = POLLIN, .revents = 0},
      {.fd = listener_ != nullptr ? listener_->fd : -1, .events = POLLIN, .revents = 0}};
  const int wait_ms = static_cast<int>(
      std::max<int64_t>(0, absl::ToInt64Milliseconds(timeout + absl::Microseconds(999))));
  if (poll(fds, listener_ != nullptr ? 2 : 1, wait_ms) <= 0) return;  // Timeout or EINTR.
  if (fds[0].revents != 0) {
    uint64_t count;
    (void)!read(wake_fd_, &count, sizeof(count));
  }
  if (listener_ == nullptr || fds[1].revents == 0) return;
  // Readable: read what arrived (never blocks), then take every complete reply from the buffer.
  if (redisBufferRead(listener_.get()) != REDIS_OK) {
    LogWarning("event hub lost its notification connection; sweeping until it is back",
               {{"error", listener_->errstr}});
    listener_.reset();
    return;
  }
  absl::MutexLock lock(&mu_);
  while (true) {
    void* raw = nullptr;
    if (redisGetReplyFromReader(listener_.get(), &raw) != REDIS_OK) {
      listener_.reset();
      return;
    }
    if (raw == nullptr) break;
    RedisReply reply(static_cast<redisReply*>(raw));
    // ["message", channel, stream key]
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) continue;
    std::string stream = ReplyString(*reply->element[2]);
    if (streams_.contains(stream)) dirty_.insert(std::move(stream));
  }
}

void EventHub::Deliver(uint64_t handle, const std::vector<StreamEntry>& entries) {
  absl::MutexLock delivering(&delivery_mu_);
  Callback callback;
  {
    absl::MutexLock lock(&mu_);
    auto it = subscribers_.find(handle);
    if (it == subscribers_.end()) return;
    if (!entries.empty()) it->second.last_id = entries.back().id;
    it->second.last_sent = absl::Now();
    callback = it->second.callback;
  }
  callback(entries);
}

absl::Status EventHub::CatchUp(const std::vector<uint64_t>& handles) {
  for (uint64_t handle : handles) {
    std::string stream;
    std::string after_id;
    std::string cursor;
    bool watched = false;
    {
      absl::MutexLock lock(&mu_);
      auto it = subscribers_.find(handle);
      if (it == subscribers_.end()) continue;
      stream = it->second.stream;
      after_id = it->second.last_id;
      auto w = streams_.find(stream);
      if (w != streams_.end()) {
        watched = true;
        cursor = w->second.cursor;
      }
    }
    if (!watched) {
      // Live reading of this stream starts after its current last entry.
      absl::StatusOr<RedisReply> last =
          redis_.Command({"XREVRANGE", stream, "+", "-", "COUNT", "1"});
      if (!last.ok()) {
        absl::MutexLock lock(&mu_);
        joining_.push_back(handle);  // Caught up on a later pass.
        return last.status();
      }
      std::vector<StreamEntry> newest = ParseEntries(**last);
      cursor = newest.empty() ? "0-0" : newest.front().id;
    }
    // Replay (after_id, cursor] in pages.
    std::string from = after_id.empty() ? "-" : absl::StrCat("(", after_id);
    while (after_id.empty() || IdAfter(cursor, after_id)) {
      absl::StatusOr<RedisReply> page =
          redis_.Command({"XRANGE", stream, from, cursor, "COUNT", absl::StrCat(options_.batch)});
      if (!page.ok()) {
        absl::MutexLock lock(&mu_);
        joining_.push_back(handle);
        return page.status();
      }
      std::vector<StreamEntry> entries = ParseEntries(**page);
      if (entries.empty()) break;
      Deliver(handle, entries);
      after_id = entries.back().id;
      from = absl::StrCat("(", after_id);
      if (static_cast<int>(entries.size()) < options_.batch) break;
    }
    absl::MutexLock lock(&mu_);
    auto it = subscribers_.find(handle);
    if (it == subscribers_.end()) continue;
    if (it->second.last_id.empty() || IdAfter(cursor, it->second.last_id)) {
      it->second.last_id = cursor;
    }
    it->second.caught_up = true;
    auto [w, inserted] = streams_.try_emplace(stream, WatchedStream{cursor, {}});
    w->second.handles.push_back(handle);
    // A notification for it may have come before it was watched: read it once now.
    if (inserted) dirty_.insert(stream);
  }
  return absl::OkStatus();
}

absl::Status EventHub::ReadDirtyStreams() {
  if (dirty_.empty()) return absl::OkStatus();
  // One XREAD names many streams; in a Redis Cluster those of one XREAD must share a hash slot,
  // so there it is one XREAD per slot (sent as one pipeline per node).
  absl::flat_hash_map<int, std::pair<std::vector<std::string>, std::vector<std::string>>> by_slot;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = dirty_.begin(); it != dirty_.end();) {
      auto watched = streams_.find(*it);
      if (watched == streams_.end()) {
        dirty_.erase(it++);  // Nobody watches it any more.
        continue;
      }
      auto& [streams, ids] = by_slot[redis_.cluster() ? RedisKeySlot(*it) : 0];
      streams.push_back(*it);
      ids.push_back(watched->second.cursor);
      ++it;
    }
  }
  if (by_slot.empty()) return absl::OkStatus();
  std::vector<std::vector<std::string>> commands;
  for (auto& [slot, names_and_ids] : by_slot) {
    auto& [streams, ids] = names_and_ids;
    std::vector<std::string> command = {"XREAD", "COUNT", absl::StrCat(options_.batch), "STREAMS"};
    command.insert(command.end(), std::make_move_iterator(streams.begin()),
                   std::make_move_iterator(streams.end()));
    command.insert(command.end(), std::make_move_iterator(ids.begin()),
                   std::make_move_iterator(ids.end()));
    commands.push_back(std::move(command));
  }
  absl::StatusOr<std::vector<RedisReply>> replies = redis_.Pipeline(commands);
  if (!replies.ok()) return replies.status();  // dirty_ is kept: read again after the pause.
  absl::flat_hash_set<std::string> more;       // Streams with a full page: more may be waiting.
  for (const RedisReply& reply : *replies) {
    if (reply->type == REDIS_REPLY_ERROR) {
      return absl::UnavailableError(absl::StrCat("redis XREAD: ", ReplyString(*reply)));
    }
    if (reply->type != REDIS_REPLY_ARRAY) continue;
    for (size_t s = 0; s < reply->elements; ++s) {
      const redisReply& stream_reply = *reply->element[s];
      const std::string stream = ReplyString(*stream_reply.element[0]);
      std::vector<StreamEntry> entries = ParseEntries(*stream_reply.element[1]);
      if (static_cast<int>(entries.size()) >= options_.batch) more.insert(stream);
      if (!entries.empty()) DeliverNews(stream, entries);
    }
  }
  dirty_ = std::move(more);
  return absl::OkStatus();
}

void EventHub::DeliverNews(const std::string& stream, const std::vector<StreamEntry>& entries) {
  // Subscribers that have seen none of `entries` (the usual case) are handed `entries` itself;
  // only one that is partly ahead (caught up past the first) gets its own copy of the rest.
  std::vector<uint64_t> take_all;
  std::vector<std::pair<uint64_t, std::vector<StreamEntry>>> take_rest;
  {
    absl::MutexLock lock(&mu_);
    auto watched = streams_.find(stream);
    if (watched == streams_.end()) return;
    watched->second.cursor = entries.back().id;
    for (uint64_t handle : watched->second.handles) {
      auto subscriber = subscribers_.find(handle);
      if (subscriber == subscribers_.end()) continue;
      const std::string& last_id = subscriber->second.last_id;
      if (!IdAfter(entries.front().id, last_id)) {
        std::vector<StreamEntry> unseen;
        for (const StreamEntry& entry : entries) {
          if (IdAfter(entry.id, last_id)) unseen.push_back(entry);
        }
        if (!unseen.empty()) take_rest.emplace_back(handle, std::move(unseen));
      } else {
        take_all.push_back(handle);
      }
    }
  }
  for (uint64_t handle : take_all) Deliver(handle, entries);
  for (const auto& [handle, unseen] : take_rest) Deliver(handle, unseen);
}

void EventHub::SendHeartbeats() {
  const absl::Time now = absl::Now();
  if (now < next_heartbeat_check_) return;
  next_heartbeat_check_ = now + std::min(options_.heartbeat, absl::Seconds(1));
  std::vector<uint64_t> quiet;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [handle, subscriber] : subscribers_) {
      if (subscriber.caught_up && now - subscriber.last_sent >= options_.heartbeat) {
        quiet.push_back(handle);
      }
    }
  }
  for (uint64_t handle : quiet) Deliver(handle, {});
}

absl::Status EventHub::Pass() {
  std::vector<uint64_t> joining;
  {
    absl::MutexLock lock(&mu_);
    joining.swap(joining_);
  }
  if (absl::Status status = CatchUp(joining); !status.ok()) return status;

  absl::Time now = absl::Now();
  const bool wants_notifications = WantsNotifications(now);
  if (!wants_notifications && listener_ != nullptr) listener_.reset();
  // (Re)subscribing: whatever was published meanwhile is found by a sweep right away.
  if (wants_notifications && listener_ == nullptr && Listen()) {
    next_sweep_ = absl::InfinitePast();
  }
  if (now >= next_sweep_) {
    absl::MutexLock lock(&mu_);
    for (const auto& [stream, watched] : streams_) dirty_.insert(stream);
    next_sweep_ =
        now + (listener_ != nullptr || !wants_notifications ? options_.sweep : kUnsubscribedSweep);
  }
  if (absl::Status status = ReadDirtyStreams(); !status.ok()) return status;
  SendHeartbeats();
  if (!dirty_.empty() || stopping_) return absl::OkStatus();  // More pages are waiting.

  now = absl::Now();
  WaitForNews(std::min({options_.block, next_sweep_ - now, next_heartbeat_check_ - now}));
  return absl::OkStatus();
}

void EventHub::Run() {
  absl::Duration backoff = absl::Milliseconds(100);
  while (!stopping_) {
    absl::Status status = Pass();
    if (status.ok()) {
      backoff = absl::Milliseconds(100);
      continue;
    }
    LogWarning("event hub pass failed; retrying", {{"error", status.ToString()}});
    // Sleep in short steps so Stop() is not held up by the backoff.
    const absl::Time until = absl::Now() + backoff;
    while (!stopping_ && absl::Now() < until) absl::SleepFor(absl::Milliseconds(20));
    backoff = std::min(backoff * 2, absl::Seconds(2));
  }
}

}  // namespace livecall
