#pragma once

#include <cstddef>

namespace lon::test {

/// Counts the bytes that operator new hands out on this thread while an AllocCounter lives
/// (the unit test binary replaces the global operator new: alloc_counter.cpp). For checks
/// that a large message moves instead of being copied.
class AllocCounter {
public:
    AllocCounter();
    ~AllocCounter();
    AllocCounter(const AllocCounter&) = delete;
    AllocCounter& operator=(const AllocCounter&) = delete;
    [[nodiscard]] std::size_t bytes() const;
};

} // namespace lon::test
