#include "heap.hpp"

#include <malloc.h>

namespace lon::link {

void use_one_malloc_arena() {
    ::mallopt(M_ARENA_MAX, 1);
}

void trim_heap() {
    ::malloc_trim(0);
}

} // namespace lon::link
