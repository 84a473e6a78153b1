#include "alloc_counter.hpp"

#include <cstdlib>
#include <new>

// The global operator new of the unit test binary: malloc, plus a per-thread count of the
// bytes allocated while an AllocCounter is active. operator delete pairs with it (free).

namespace {
thread_local bool counting = false;
thread_local std::size_t counted = 0;

void* allocate(std::size_t n) {
    if (counting) {
        counted += n;
    }
    if (void* p = std::malloc(n == 0 ? 1 : n)) {
        return p;
    }
    throw std::bad_alloc();
}
} // namespace

void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace lon::test {

AllocCounter::AllocCounter() {
    counted = 0;
    counting = true;
}
AllocCounter::~AllocCounter() { counting = false; }
std::size_t AllocCounter::bytes() const { return counted; }

} // namespace lon::test
