#include "negotiation.hpp"

#include <charconv>
#include <vector>

#include "host_table.hpp"

namespace lon::proto {
namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    for (;;) {
        auto at = s.find(sep);
        out.push_back(s.substr(0, at));
        if (at == std::string_view::npos) {
            return out;
        }
        s.remove_prefix(at + 1);
    }
}

bool valid_reason(std::string_view r) {
    if (r.empty() || r.size() > 64) {
        return false;
    }
    for (char c : r) {
        if (!((c >= 'a' && c <= 'z') || c == '_')) {
            return false;
        }
    }
    return true;
}

} // namespace

std::string format_init(const InitLine& init) {
    std::string offer;
    if (init.offers_ssl) {
        offer = "ssl";
    }
    if (init.offers_insecure) {
        offer += offer.empty() ? "insecure" : ",insecure";
    }
    return "init:" + std::to_string(init.version) + ":" + init.client_id + ":" + init.server_id +
           ":" + offer;
}

std::optional<InitLine> parse_init(std::string_view line) {
    if (line.size() > max_init_line) {
        return std::nullopt;
    }
    auto f = split(line, ':');
    if (f.size() != 5 || f[0] != "init" || f[1].empty() || f[1].size() > 9) {
        return std::nullopt;
    }
    // Digits only: from_chars alone would take "-0" for version 0.
    for (char ch : f[1]) {
        if (ch < '0' || ch > '9') {
            return std::nullopt;
        }
    }
    InitLine init;
    auto [p, ec] = std::from_chars(f[1].data(), f[1].data() + f[1].size(), init.version);
    if (ec != std::errc{} || p != f[1].data() + f[1].size()) {
        return std::nullopt;
    }
    if (!valid_host_id(f[2]) || !valid_host_id(f[3])) {
        return std::nullopt;
    }
    init.client_id = f[2];
    init.server_id = f[3];
    for (auto o : split(f[4], ',')) {
        if (o == "ssl" && !init.offers_ssl) {
            init.offers_ssl = true;
        } else if (o == "insecure" && !init.offers_insecure) {
            init.offers_insecure = true;
        } else {
            return std::nullopt; // empty, unknown or repeated
        }
    }
    return init;
}

std::string_view to_string(Refusal reason) {
    switch (reason) {
    case Refusal::unknown_host:
        return "unknown_host";
    case Refusal::address_mismatch:
        return "address_mismatch";
    case Refusal::ssl_required:
        return "ssl_required";
    case Refusal::downgrade:
        return "downgrade";
    case Refusal::version:
        return "version";
    case Refusal::busy:
        return "busy";
    case Refusal::wrong_server:
        return "wrong_server";
    case Refusal::bad_init:
        return "bad_init";
    case Refusal::extra_data:
        return "extra_data";
    case Refusal::revoked:
        return "revoked";
    }
    return "unknown";
}

std::string_view to_string(Mode mode) {
    return mode == Mode::ssl ? "ssl" : "insecure";
}

Answer accept(Mode mode) {
    return Answer{true, mode, {}};
}

Answer refuse(Refusal reason) {
    return Answer{false, Mode::insecure, std::string(to_string(reason))};
}

std::string format_answer(const Answer& answer) {
    return answer.ok ? "ok:" + std::string(to_string(answer.mode)) : "refused:" + answer.reason;
}

std::optional<Answer> parse_answer(std::string_view line) {
    if (line == "ok:ssl") {
        return accept(Mode::ssl);
    }
    if (line == "ok:insecure") {
        return accept(Mode::insecure);
    }
    constexpr std::string_view refused = "refused:";
    if (line.substr(0, refused.size()) == refused && valid_reason(line.substr(refused.size()))) {
        return Answer{false, Mode::insecure, std::string(line.substr(refused.size()))};
    }
    return std::nullopt;
}

std::optional<InitLine> client_offer(std::string_view client_id, std::string_view server_id,
                                     const Policy& policy) {
    InitLine init;
    init.client_id = client_id;
    init.server_id = server_id;
    init.offers_ssl = policy.have_cert;
    // Insecure is offered only where it may be used: allowed and never to a peer pinned or on
    // the CA roster. A client with a certificate still offers it, for a server that has none.
    init.offers_insecure = policy.allow_insecure && !policy.peer_needs_ssl();
    if (!init.offers_ssl && !init.offers_insecure) {
        return std::nullopt;
    }
    return init;
}

Answer server_decide(const InitLine& init, const Policy& policy) {
    if (init.version != protocol_version) {
        return refuse(Refusal::version);
    }
    if (init.offers_ssl && policy.have_cert) {
        return accept(Mode::ssl);
    }
    // From here one side has no usable certificate.
    if (policy.peer_needs_ssl()) {
        return refuse(Refusal::downgrade);
    }
    if (!init.offers_insecure || !policy.allow_insecure) {
        return refuse(Refusal::ssl_required);
    }
    return accept(Mode::insecure);
}

bool client_accepts(const InitLine& offer, const Answer& answer, const Policy& policy) {
    if (!answer.ok) {
        return false;
    }
    if (answer.mode == Mode::ssl) {
        return offer.offers_ssl && policy.have_cert;
    }
    return offer.offers_insecure && policy.allow_insecure && !policy.peer_needs_ssl();
}

} // namespace lon::proto
