// Durable requests on the wire and on disk: parse_critical / format_critical / is_critical,
// parse_critical_ack / format_critical_ack, parse_record, parse_spool_name.
// Checks: a parsed body has a valid id, formats back to exactly the input and is_critical;
// is_critical holds exactly when the command word is "critical"; a valid id and any request
// format to a body that parses back to them; a parsed ack has 1..64 valid ids and formats back
// to the input; a record parses to started only for exactly "started\n"; a parsed spool name
// has a valid id and, when it has a seq, formats back to the input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "critical.hpp"
#include "fuzz_check.hpp"
#include "message.hpp"

using namespace lon::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view body(reinterpret_cast<const char*>(data), size);
    FUZZ_CHECK(is_critical(body) == (command_of(body) == "critical"));
    if (auto c = parse_critical(body)) {
        FUZZ_CHECK(valid_critical_id(c->id));
        FUZZ_CHECK(c->id.size() >= 1 && c->id.size() <= 64);
        FUZZ_CHECK(c->id.find(':') == std::string_view::npos);
        FUZZ_CHECK(format_critical(c->id, c->request) == body);
        FUZZ_CHECK(is_critical(body));
    } else if (is_critical(body)) {
        // Only a bad or missing id makes a critical body unparsable ("critical" alone has
        // none).
        std::string_view rest = body.size() > 9 ? body.substr(9) : std::string_view(); // after "critical:"
        auto colon = rest.find(':');
        FUZZ_CHECK(colon == std::string_view::npos || !valid_critical_id(rest.substr(0, colon)));
    }
    // The reverse: the bytes up to the first ';' as the id, the rest as the request (only a
    // valid id is ever formatted: lonc makes them).
    auto cut = body.find(';');
    if (cut != std::string_view::npos && valid_critical_id(body.substr(0, cut))) {
        std::string_view id = body.substr(0, cut);
        std::string_view request = body.substr(cut + 1);
        std::string wire = format_critical(id, request);
        auto c = parse_critical(wire);
        FUZZ_CHECK(c.has_value());
        FUZZ_CHECK(c->id == id && c->request == request);
        FUZZ_CHECK(is_critical(wire));
    }
    if (auto ids = parse_critical_ack(body)) {
        FUZZ_CHECK(is_critical_ack(body));
        FUZZ_CHECK(!ids->empty() && ids->size() <= max_ack_ids);
        std::vector<std::string> owned;
        for (auto id : *ids) {
            FUZZ_CHECK(valid_critical_id(id));
            owned.emplace_back(id);
        }
        FUZZ_CHECK(format_critical_ack(owned) == body);
    }
    auto record = parse_record(body);
    FUZZ_CHECK((record.state == CriticalRecord::State::started) == (body == "started\n"));
    if (record.state == CriticalRecord::State::done) {
        FUZZ_CHECK(body.size() >= record.reply.size());
    }
    if (auto name = parse_spool_name(body)) {
        FUZZ_CHECK(valid_critical_id(name->id));
        if (name->id != body) {
            FUZZ_CHECK(format_spool_name(name->seq, name->id) == body);
        }
    }
    return 0;
}
