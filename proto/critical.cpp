#include "critical.hpp"

#include "host_table.hpp"
#include "message.hpp"

namespace lon::proto {
namespace {

constexpr std::string_view critical_prefix = "critical:";
constexpr std::string_view ack_prefix = "critical_ack:";
constexpr std::string_view started_text = "started\n";
constexpr std::string_view done_prefix = "done\n";
constexpr std::size_t seq_digits = 20;

} // namespace

bool valid_critical_id(std::string_view id) {
    return valid_host_id(id); // same alphabet and length: safe as a file name
}

std::string format_critical_id(const std::array<std::uint8_t, critical_id_bytes>& random) {
    constexpr char hex[] = "0123456789abcdef";
    std::string id;
    id.reserve(2 * critical_id_bytes);
    for (std::uint8_t b : random) {
        id += hex[b >> 4];
        id += hex[b & 0x0f];
    }
    return id;
}

std::string format_critical(std::string_view id, std::string_view request) {
    return std::string(critical_prefix) + std::string(id) + ":" + std::string(request);
}

bool is_critical(std::string_view body) {
    return command_of(body) == "critical";
}

std::optional<Critical> parse_critical(std::string_view body) {
    if (body.substr(0, critical_prefix.size()) != critical_prefix) {
        return std::nullopt;
    }
    body.remove_prefix(critical_prefix.size());
    auto colon = body.find(':');
    if (colon == std::string_view::npos || !valid_critical_id(body.substr(0, colon))) {
        return std::nullopt;
    }
    return Critical{body.substr(0, colon), body.substr(colon + 1)};
}

bool is_critical_ack(std::string_view body) {
    return command_of(body) == "critical_ack";
}

std::string format_critical_ack(const std::vector<std::string>& ids) {
    std::string line(ack_prefix);
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (i > 0) {
            line += '&';
        }
        line += ids[i];
    }
    return line;
}

std::optional<std::vector<std::string_view>> parse_critical_ack(std::string_view body) {
    if (body.substr(0, ack_prefix.size()) != ack_prefix) {
        return std::nullopt;
    }
    body.remove_prefix(ack_prefix.size());
    std::vector<std::string_view> ids;
    for (;;) {
        auto amp = body.find('&');
        std::string_view id = body.substr(0, amp);
        if (!valid_critical_id(id) || ids.size() == max_ack_ids) {
            return std::nullopt;
        }
        ids.push_back(id);
        if (amp == std::string_view::npos) {
            return ids;
        }
        body.remove_prefix(amp + 1);
    }
}

std::string format_record_started() {
    return std::string(started_text);
}

std::string format_record_done(std::string_view reply) {
    return std::string(done_prefix) + std::string(reply);
}

CriticalRecord parse_record(std::string_view text) {
    if (text == started_text) {
        return {CriticalRecord::State::started, {}};
    }
    if (text.substr(0, done_prefix.size()) == done_prefix) {
        return {CriticalRecord::State::done, text.substr(done_prefix.size())};
    }
    return {CriticalRecord::State::done, text}; // an older lond's record: the reply alone
}

std::string format_spool_name(std::uint64_t seq, std::string_view id) {
    std::string digits = std::to_string(seq);
    return std::string(seq_digits - digits.size(), '0') + digits + "-" + std::string(id);
}

std::optional<SpoolName> parse_spool_name(std::string_view name) {
    if (name.size() > seq_digits + 1 && name[seq_digits] == '-') {
        std::uint64_t seq = 0;
        bool digits = true;
        for (std::size_t i = 0; i < seq_digits && digits; ++i) {
            char ch = name[i];
            digits = ch >= '0' && ch <= '9';
            std::uint64_t next = seq * 10 + static_cast<std::uint64_t>(ch - '0');
            digits = digits && (seq == 0 || next / 10 == seq); // no overflow
            seq = next;
        }
        std::string_view id = name.substr(seq_digits + 1);
        if (digits && valid_critical_id(id)) {
            return SpoolName{seq, id};
        }
    }
    if (valid_critical_id(name)) {
        return SpoolName{0, name};
    }
    return std::nullopt;
}

} // namespace lon::proto
