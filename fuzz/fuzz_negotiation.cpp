// Negotiation: parse_init / parse_answer on arbitrary lines, and the decision functions on
// every parsed init under every policy.
// Checks: a parsed init formats to a line that parses to the same init, and to the input
// itself when the input is canonical (no leading zeros in the version, offer "ssl",
// "insecure" or "ssl,insecure"); a parsed answer formats back to the input; server_decide's
// answer survives format/parse and only grants a mode the client offered and the server may
// use; client_offer -> server_decide -> client_accepts never agrees on insecure when both
// sides have a certificate, nor with a pinned peer or a side that forbids insecure.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "host_table.hpp"
#include "negotiation.hpp"

using namespace lon::proto;

namespace {

bool same(const InitLine& a, const InitLine& b) {
    return a.version == b.version && a.client_id == b.client_id && a.server_id == b.server_id &&
           a.offers_ssl == b.offers_ssl && a.offers_insecure == b.offers_insecure;
}

bool same(const Answer& a, const Answer& b) {
    return a.ok == b.ok && (a.ok ? a.mode == b.mode : a.reason == b.reason);
}

Policy policy(unsigned bits) {
    return Policy{(bits & 1U) != 0, (bits & 2U) != 0, (bits & 4U) != 0, (bits & 8U) != 0};
}

void check_answer_round_trip(const Answer& a) {
    auto back = parse_answer(format_answer(a));
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(same(*back, a));
}

void check_init(std::string_view line, const InitLine& init) {
    FUZZ_CHECK(lon::valid_host_id(init.client_id));
    FUZZ_CHECK(lon::valid_host_id(init.server_id));
    FUZZ_CHECK(init.version >= 0);
    FUZZ_CHECK(init.offers_ssl || init.offers_insecure);
    std::string formatted = format_init(init);
    FUZZ_CHECK(formatted.size() <= line.size());
    auto again = parse_init(formatted);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(same(*again, init));
    FUZZ_CHECK(format_init(*again) == formatted);
    // The input is canonical when its version and offer read as format_init writes them.
    std::string_view rest = line.substr(5); // after "init:"
    std::string_view version = rest.substr(0, rest.find(':'));
    std::string_view offer_text = line.substr(line.rfind(':') + 1);
    bool canonical = version == std::to_string(init.version) &&
                     (offer_text == "ssl" || offer_text == "insecure" || offer_text == "ssl,insecure");
    if (canonical) {
        FUZZ_CHECK(formatted == line);
    }

    for (unsigned s = 0; s < 16; ++s) {
        Policy server = policy(s);
        Answer a = server_decide(init, server);
        check_answer_round_trip(a);
        if (init.version != protocol_version) {
            FUZZ_CHECK(!a.ok);
            FUZZ_CHECK(a.reason == "version");
            continue;
        }
        if (a.ok && a.mode == Mode::ssl) {
            FUZZ_CHECK(init.offers_ssl && server.have_cert);
        }
        if (a.ok && a.mode == Mode::insecure) {
            FUZZ_CHECK(init.offers_insecure && server.allow_insecure && !server.peer_needs_ssl());
            FUZZ_CHECK(!(init.offers_ssl && server.have_cert));
        }
        for (unsigned c = 0; c < 16; ++c) {
            Policy client = policy(c);
            auto offer = client_offer(init.client_id, init.server_id, client);
            if (!offer) {
                FUZZ_CHECK(!client.have_cert && (!client.allow_insecure || client.peer_needs_ssl()));
                continue;
            }
            auto offered = parse_init(format_init(*offer));
            FUZZ_CHECK(offered.has_value() && same(*offered, *offer));
            Answer answer = server_decide(*offered, server);
            if (!client_accepts(*offer, answer, client)) {
                continue;
            }
            FUZZ_CHECK(answer.ok);
            if (answer.mode == Mode::ssl) {
                FUZZ_CHECK(client.have_cert && server.have_cert);
            } else {
                FUZZ_CHECK(!(client.have_cert && server.have_cert));
                FUZZ_CHECK(client.allow_insecure && server.allow_insecure);
                FUZZ_CHECK(!client.peer_needs_ssl() && !server.peer_needs_ssl());
            }
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view line(reinterpret_cast<const char*>(data), size);
    if (auto init = parse_init(line)) {
        FUZZ_CHECK(line.size() <= max_init_line);
        check_init(line, *init);
    }
    if (auto answer = parse_answer(line)) {
        FUZZ_CHECK(format_answer(*answer) == line);
        check_answer_round_trip(*answer);
    }
    return 0;
}
