#include "counters.hpp"

#include "json.hpp"

namespace lon {

Counters::Counters(std::initializer_list<std::string_view> names) {
    for (auto n : names) {
        values_.emplace(std::string(n), 0);
    }
}

void Counters::add(std::string_view name, std::uint64_t n) { add(slot(name), n); }

Counters::Slot Counters::slot(std::string_view name) {
    auto it = values_.find(name);
    if (it == values_.end()) {
        it = values_.emplace(std::string(name), 0).first;
    }
    return Slot(&it->second); // a std::map's elements stay where they are
}

std::uint64_t Counters::get(std::string_view name) const {
    auto it = values_.find(name);
    return it == values_.end() ? 0 : it->second;
}

std::string Counters::json() const {
    std::string out = "{";
    for (const auto& [name, value] : values_) {
        if (out.size() > 1) {
            out += ',';
        }
        out += json_string(name);
        out += ':';
        out += std::to_string(value);
    }
    out += '}';
    return out;
}

} // namespace lon
