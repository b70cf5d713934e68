#ifndef LIVECALL_COMMON_ARENA_ALLOCATOR_H_
#define LIVECALL_COMMON_ARENA_ALLOCATOR_H_

// A gRPC callback-API message allocator that builds a unary RPC's request (and, by choice, its
// response) on one google::protobuf::Arena per RPC, whose first block is inline in the per-RPC
// holder: parsing a request and building a response then costs bump allocations instead of one
// malloc per string, sub-message and repeated field, and all of it goes in one free when gRPC
// releases the holder after the RPC is done (OnDone). Register it per method, before the server
// starts, with the generated `service.SetMessageAllocatorFor_<Method>(&allocator)`; the allocator
// outlives the server (grpcpp/support/message_allocator.h).
//
// What a handler must not do with arena messages:
// - keep a pointer to the request or response past the RPC's end (the arena goes with it);
// - expect a move or Swap with a message of another arena (or the heap) to be cheap: protobuf
//   deep-copies then. A handler that fills its response as `*response = std::move(built)`, with
//   `built` made on the heap, copies the whole message: for such a method keep the response off
//   the arena (ResponsePlacement::kHeap), where that move stays a swap.
// Strings longer than the small-string buffer still take a malloc of their own on protobuf 3.21
// (the std::string object is on the arena, its characters are not).

#include <grpcpp/support/message_allocator.h>

#include <cstddef>

#include "google/protobuf/arena.h"

namespace livecall {

// Where the response of an ArenaMessageAllocator's RPC lives (the request is always on the arena).
enum class ResponsePlacement {
  // On the arena with the request: for handlers that fill the response field by field.
  kArena,
  // A plain member of the per-RPC holder: for handlers that move a message built elsewhere into
  // the response, which between a heap message and an arena one would be a deep copy.
  kHeap,
};

// Blocks of at most this many bytes come from glibc's per-thread cache and small bins; a larger
// one takes the large-bin path, which first merges every freed fast-bin chunk (malloc_consolidate,
// visible in the services' profiles). The per-RPC holder and the arena's further blocks stay
// under it (a single message field larger than a block still gets a block of its own size).
inline constexpr size_t kArenaSmallAllocationBytes = 1000;

// `kInitialBlockBytes`: the arena's first block, inline in the per-RPC holder, so that one malloc
// per RPC holds the holder and everything that fits in the block; messages that outgrow it go on
// in blocks of kArenaSmallAllocationBytes that the arena mallocs. Thread-safe (each RPC has its
// own holder), as gRPC requires.
template <typename Request, typename Response,
          ResponsePlacement kResponsePlacement = ResponsePlacement::kArena,
          size_t kInitialBlockBytes = 512>
class ArenaMessageAllocator final : public grpc::MessageAllocator<Request, Response> {
 public:
  grpc::MessageHolder<Request, Response>* AllocateMessages() override { return new Holder(); }

 private:
  class Holder final : public grpc::MessageHolder<Request, Response> {
   public:
    Holder() : arena_(Options(initial_block_)) {
      this->set_request(google::protobuf::Arena::CreateMessage<Request>(&arena_));
      if constexpr (kResponsePlacement == ResponsePlacement::kArena) {
        this->set_response(google::protobuf::Arena::CreateMessage<Response>(&arena_));
      } else {
        this->set_response(&heap_response_);
      }
    }

    // gRPC calls this once the RPC is done (after the reactor's OnDone): the arena frees the
    // request and the response together.
    void Release() override { delete this; }

    // FreeRequest (freeing the request before the RPC ends) keeps its no-op default: one message
    // on an arena cannot be freed alone, and its memory goes with the response's a moment later.

   private:
    static google::protobuf::ArenaOptions Options(char* initial_block) {
      google::protobuf::ArenaOptions options;
      options.initial_block = initial_block;
      options.initial_block_size = kInitialBlockBytes;
      options.start_block_size = kArenaSmallAllocationBytes;
      options.max_block_size = kArenaSmallAllocationBytes;
      return options;
    }

    // Declared before arena_, which uses it until it is destroyed.
    alignas(std::max_align_t) char initial_block_[kInitialBlockBytes];
    google::protobuf::Arena arena_;
    // Used only with ResponsePlacement::kHeap; an empty message otherwise (no allocation).
    Response heap_response_;
  };
  static_assert(sizeof(Holder) <= kArenaSmallAllocationBytes,
                "a smaller kInitialBlockBytes keeps the per-RPC holder a small allocation");
};

}  // namespace livecall

#endif  // LIVECALL_COMMON_ARENA_ALLOCATOR_H_
